import pytest

from nlp_core.tokens import Doc
from nlp_core.training import Alignment, Example


def test_one_to_one_alignment_passes_gold_values_through(nlp):
    ref = Doc(nlp.vocab, words=["I", "do", "n't", "know", "."], spaces=[1, 0, 1, 0, 0],
              tags=["PRP", "VBP", "RB", "VB", "."])
    eg = Example(nlp(ref.text), ref)
    assert eg.alignment.is_one_to_one
    assert eg.get_aligned("TAG", as_string=True) == ["PRP", "VBP", "RB", "VB", "."]


def test_split_and_merged_tokens_get_no_value(nlp):
    ref = Doc(nlp.vocab, words=["New", "York-based", "firm"], tags=["NNP", "JJ", "NN"])
    pred = Doc(nlp.vocab, words=["New", "York", "-", "based", "firm"],
               spaces=[True, False, False, True, True])
    eg = Example(pred, ref)
    assert eg.alignment.x2y.to_lists() == [[0], [1], [1], [1], [2]]
    assert eg.alignment.y2x.to_lists() == [[0], [1, 2, 3], [4]]
    # a predicted piece of a gold token maps to exactly one gold token: it takes its value
    assert eg.get_aligned("TAG", as_string=True) == ["NNP", "JJ", "JJ", "JJ", "NN"]
    merged = Doc(nlp.vocab, words=["New York-based", "firm"])
    assert Example(merged, ref).get_aligned("TAG", as_string=True) == [None, "NN"]


def test_whitespace_differences_align(nlp):
    ref = Doc(nlp.vocab, words=["a", "b"], tags=["X", "Y"])
    pred = Doc(nlp.vocab, words=["a", "\n", "b"], spaces=[False, False, False])
    assert Example(pred, ref).get_aligned("TAG", as_string=True) == ["X", None, "Y"]


def test_different_texts_fail_with_both_texts_named(nlp):
    ref = Doc(nlp.vocab, words=["Hello", "world"])
    with pytest.raises(ValueError, match="texts differ.*'Goodbye"):
        _ = Example(nlp("Goodbye world"), ref).alignment


def test_aligned_heads_are_absolute_indices(nlp):
    ref = Doc(nlp.vocab, words=["She", "runs"], heads=[1, 1], deps=["nsubj", "ROOT"])
    assert Example(nlp("She runs "), ref).get_aligned("HEAD") == [1, 1]


def test_from_dict_builds_reference(nlp):
    eg = Example.from_dict(nlp("Apple is in Cupertino"),
                           {"tags": ["NNP", "VBZ", "IN", "NNP"],
                            "entities": ["B-ORG", "O", "O", "U-GPE"]})
    assert [(e.text, e.label_) for e in eg.reference.ents] == [("Apple", "ORG"),
                                                               ("Cupertino", "GPE")]
    eg2 = Example.from_dict(nlp("Apple is in Cupertino"), {"entities": [(0, 5, "ORG")]})
    assert [e.text for e in eg2.reference.ents] == ["Apple"]
    with pytest.raises(ValueError, match="token boundaries"):
        Example.from_dict(nlp("Apple is"), {"entities": [(0, 3, "ORG")]})


def test_alignment_from_offsets_handles_empty():
    import numpy

    empty = numpy.zeros((0, 2), dtype=numpy.int64)
    al = Alignment.from_offsets(empty, numpy.array([[0, 1]]))
    assert len(al.x2y) == 0 and al.y2x.to_lists() == [[]]
