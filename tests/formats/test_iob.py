"""IOB2 / IOB1 / BILUO NER files: layouts, exact spaces from `# text`, grouping, bad tags."""
from pathlib import Path

import pytest
from shared_data import shared_path

from nlp_core.formats import read_iob, tags_to_spans

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "formats"


def _ents(doc):
    return [(e.text, e.label_) for e in doc.ents]


def test_universal_ner_layout_with_text_comments():
    doc1, doc2 = read_iob(FIXTURES / "uner.iob2")
    assert doc1.text == "Alice lives in New York."
    assert _ents(doc1) == [("Alice", "PER"), ("New York", "LOC")]
    assert [t.ent_iob_ for t in doc1] == ["B", "O", "O", "B", "I", "O"]
    assert doc2.text == "Bob ca n't come"


def test_conll2003_layout_reads_iob1():
    doc1, doc2 = read_iob(FIXTURES / "conll2003.ner")
    # no text comments: every token keeps a space, as spaCy's converter does
    assert doc1.text == "EU rejects German call "
    assert _ents(doc1) == [("EU", "ORG"), ("German", "MISC")]
    assert _ents(doc2) == [("Peter Blackburn", "PER")]


def test_sentence_per_line_layout_reads_biluo_and_iobes():
    doc1, doc2 = read_iob(FIXTURES / "sentences.iob")
    assert _ents(doc1) == [("Alice", "PER"), ("New York", "LOC")]
    assert _ents(doc2) == [("Bob", "PER")]


def test_n_sents_groups_sentences():
    (doc,) = read_iob(FIXTURES / "uner.iob2", n_sents=5)
    assert doc.text == "Alice lives in New York. Bob ca n't come"
    assert [s.text for s in doc.sents] == ["Alice lives in New York.", "Bob ca n't come"]
    assert _ents(doc) == [("Alice", "PER"), ("New York", "LOC"), ("Bob", "PER")]


@pytest.mark.parametrize("tags,spans", [
    (["B-A", "I-A", "O", "B-B"], [("A", 0, 2), ("B", 3, 4)]),
    (["I-A", "I-A", "I-B", "O", "I-A"], [("A", 0, 2), ("B", 2, 3), ("A", 4, 5)]),
    (["B-A", "B-A"], [("A", 0, 1), ("A", 1, 2)]),
    (["U-A", "B-B", "I-B", "L-B", "O"], [("A", 0, 1), ("B", 1, 4)]),
    (["S-A", "B-B", "E-B"], [("A", 0, 1), ("B", 1, 3)]),
    (["L-A", "O"], [("A", 0, 1)]),
])
def test_tag_schemes(tags, spans):
    assert tags_to_spans(tags) == spans


def test_uner_dev_has_every_entity_and_exact_text():
    path = shared_path("uner_english_ewt", "en_ewt-ud-dev.iob2")
    texts = [line[len("# text = "):] for line in path.read_text(encoding="utf8").splitlines()
             if line.startswith("# text = ")]
    docs = list(read_iob(path))
    assert len(docs) == 2001
    assert [d.text for d in docs] == texts
    assert sum(len(d.ents) for d in docs) == 966
    assert sum(len(d.ents) for d in read_iob(path, n_sents=10)) == 966


def test_bad_tag_names_file_and_line(tmp_path):
    path = tmp_path / "bad.iob2"
    path.write_text("1\tfine\tO\n\n1\tAlice\tX-PER\n2\tleft\tO\n\n1\tok\tB-LOC\n",
                    encoding="utf8")
    with pytest.raises(ValueError, match="invalid entity tag 'X-PER'") as err:
        list(read_iob(path))
    assert f"{path}:3:" in str(err.value)
    seen = []
    docs = list(read_iob(path, on_error=seen.append))
    assert [d.text for d in docs] == ["fine ", "ok "]
    assert [(r.line_number, r.raw_line) for r in seen] == [(3, "1\tAlice\tX-PER")]


def test_missing_tag_column_is_reported(tmp_path):
    path = tmp_path / "bad.ner"
    path.write_text("Alice B-PER\nlonely\n", encoding="utf8")
    with pytest.raises(ValueError, match=r"bad.ner:2: .*cannot read a token and NER tag"):
        list(read_iob(path))
