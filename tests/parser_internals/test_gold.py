"""Gold from Examples: alignment to predicted tokens, unknown values, projectivization."""
import numpy

from nlp_core.parser_internals import (
    ArcEager,
    BiluoNER,
    GreedyBatch,
    biluo_from_example,
    make_ner_gold,
    make_parser_gold,
    parse_from_example,
    sent_constraints,
)
from nlp_core.tokens import Doc
from nlp_core.training.example import Example
from nlp_core.vocab import Vocab


def _example(pred_words, pred_spaces, **gold):
    vocab = Vocab()
    reference = Doc(vocab, words=gold.pop("words"), spaces=gold.pop("spaces"), **gold)
    return Example(Doc(vocab, words=pred_words, spaces=pred_spaces), reference)


def test_parse_from_example_same_tokens():
    eg = _example(["She", "ate", "it", ".", "Go"], [True, True, False, True, False],
                  words=["She", "ate", "it", ".", "Go"], spaces=[True, True, False, True, False],
                  heads=[1, 1, 1, 1, 4], deps=["nsubj", "ROOT", "obj", "punct", "ROOT"])
    heads, labels, starts = parse_from_example(eg)
    assert heads.tolist() == [1, 1, 1, 1, 4]
    assert labels == ["nsubj", "ROOT", "obj", "punct", "ROOT"]
    assert starts.tolist() == [1, 0, 0, 0, 1]
    system = ArcEager(["nsubj", "obj", "punct"])
    gold = make_parser_gold(system, eg)
    batch = GreedyBatch(system, [5])
    batch.follow_oracle([gold])
    assert batch.parse(0)[0].tolist() == heads.tolist()
    assert "B-ROOT" in [system.move_names[c] for c in batch.history(0)]


def test_parse_from_example_misaligned_tokens_are_unknown():
    # predicted "don't" is one token; gold has "do" "n't"
    eg = _example(["I", "don't", "know"], [True, True, False],
                  words=["I", "do", "n't", "know"], spaces=[True, False, True, False],
                  heads=[3, 3, 3, 3], deps=["nsubj", "aux", "advmod", "ROOT"])
    heads, labels, _ = parse_from_example(eg)
    assert heads.tolist() == [2, -1, 2]
    assert labels == ["nsubj", None, "ROOT"]


def test_parse_from_example_projectivizes():
    words = ["A", "hearing", "is", "scheduled", "on", "the", "issue", "today"]
    eg = _example(words, [True] * 7 + [False], words=words, spaces=[True] * 7 + [False],
                  heads=[1, 3, 3, 3, 1, 6, 4, 3],
                  deps=["det", "nsubj", "aux", "ROOT", "nmod", "det", "pobj", "npadvmod"])
    heads, labels, _ = parse_from_example(eg)
    assert heads[4] == 3 and labels[4] == "nmod||nsubj"
    heads, labels, _ = parse_from_example(eg, projective=False)
    assert heads[4] == 1 and labels[4] == "nmod"


def test_biluo_from_example():
    eg = _example(["New", "York", "is", "big"], [True, True, True, False],
                  words=["New", "York", "is", "big"], spaces=[True, True, True, False],
                  ents=["B-GPE", "I-GPE", "O", ""])
    iob, labels = biluo_from_example(eg)
    assert iob.tolist() == [3, 1, 2, 0]
    assert labels == ["GPE", "GPE", None, None]
    system = BiluoNER(["GPE"])
    gold = make_ner_gold(system, eg)
    batch = GreedyBatch(system, [4])
    batch.follow_oracle([gold])
    assert batch.entities(0) == [(0, 2, system.label_id("GPE"))]
    # an entity cut by the predicted tokenization becomes missing
    eg = _example(["NewYork", "is"], [True, False], words=["New", "York", "is"],
                  spaces=[False, True, False], ents=["B-GPE", "O", "O"])
    iob, labels = biluo_from_example(eg)
    assert iob.tolist() == [0, 2]


def test_sent_constraints():
    doc = Doc(Vocab(), words=["a", "b", "c"], sent_starts=[True, False, None])
    assert sent_constraints(doc).tolist() == [1, -1, 0]
    assert sent_constraints(Doc(Vocab(), words=["a"])).dtype == numpy.int8
