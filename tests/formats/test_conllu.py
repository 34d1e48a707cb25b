"""CoNLL-U: gold columns, multiword tokens, grouping, malformed lines, round trip on EWT dev."""
from pathlib import Path

import pytest
from shared_data import shared_path

from nlp_core.formats import BadRecord, doc_to_conllu, read_conllu, write_conllu
from nlp_core.vocab import Vocab

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "formats"


def test_reads_gold_columns_words_and_spaces():
    doc1, doc2 = read_conllu(FIXTURES / "sample.conllu")
    # the multiword token "didn't" becomes its words, spelled without a space between them
    assert [t.text for t in doc1] == ["They", "did", "n't", "go", "."]
    assert doc1.text == "They didn't go."
    assert [t.whitespace_ for t in doc1] == [" ", "", " ", "", ""]
    assert [t.lemma_ for t in doc1] == ["they", "do", "not", "go", "."]
    assert [t.pos_ for t in doc1] == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert [t.tag_ for t in doc1] == ["PRP", "VBD", "RB", "VB", "."]
    assert str(doc1[0].morph) == "Case=Nom|Number=Plur"
    assert doc1[2].morph.key != 0 and str(doc1[2].morph) == ""
    assert [t.head.i for t in doc1] == [3, 3, 3, 3, 3]
    assert [t.dep_ for t in doc1] == ["nsubj", "aux", "advmod", "ROOT", "punct"]
    assert [t.is_sent_start for t in doc1] == [True, False, False, False, False]
    assert [(e.text, e.label_) for e in doc2.ents] == [("Alice", "PER"), ("Bob", "PER"),
                                                        ("Paris", "LOC")]
    assert not doc1.has_annotation("ENT_IOB")


def test_n_sents_groups_sentences_joined_by_a_space():
    (doc,) = read_conllu(FIXTURES / "sample.conllu", n_sents=10)
    assert doc.text == "They didn't go. Alice met Bob in Paris"
    assert [s.text for s in doc.sents] == ["They didn't go.", "Alice met Bob in Paris"]
    assert doc[5].head.i == 6 and doc[6].dep_ == "ROOT" and doc[6].head.i == 6
    assert [e.text for e in doc.ents] == ["Alice", "Bob", "Paris"]


def test_ewt_dev_matches_its_text_comments():
    path = shared_path("ud_english_ewt", "en_ewt-ud-dev.conllu")
    texts = [line[len("# text = "):] for line in path.read_text(encoding="utf8").splitlines()
             if line.startswith("# text = ")]
    docs = list(read_conllu(path))
    assert len(docs) == len(texts) == 2001
    assert sum(len(d) for d in docs) == 25147
    for doc, text in zip(docs, texts):
        assert doc.text.rstrip(" ") == text
        assert sum(1 for t in doc if t.dep_ == "ROOT") == 1


def _columns(doc):
    return ([t.text for t in doc], [t.whitespace_ for t in doc], [t.tag_ for t in doc],
            [t.pos_ for t in doc], [str(t.morph) for t in doc], [t.lemma_ for t in doc],
            [t.head.i for t in doc], [t.dep_ for t in doc], [t.is_sent_start for t in doc])


@pytest.mark.parametrize("n_sents", [1, 10])
def test_round_trip_on_ewt_dev_preserves_every_sentence(tmp_path, n_sents):
    path = shared_path("ud_english_ewt", "en_ewt-ud-dev.conllu")
    vocab = Vocab()
    first = list(read_conllu(path, vocab=vocab, n_sents=n_sents))
    out = tmp_path / "dev.conllu"
    assert write_conllu(first, out) == 2001
    second = list(read_conllu(out, vocab=vocab, n_sents=n_sents))
    assert len(second) == len(first)
    for a, b in zip(first, second):
        assert _columns(a) == _columns(b)


def test_writer_output_is_valid_conllu():
    (doc,) = read_conllu(FIXTURES / "sample.conllu", n_sents=2)
    text = doc_to_conllu(doc)
    blocks = text.strip("\n").split("\n\n")
    assert len(blocks) == 2
    assert blocks[0].splitlines()[:2] == ["# sent_id = 1", "# text = They didn't go."]
    rows = [line.split("\t") for line in blocks[0].splitlines()[2:]]
    assert all(len(r) == 10 for r in rows)
    assert rows[3][6:8] == ["0", "root"] and rows[3][9] == "SpaceAfter=No"
    assert rows[4][9] == "_"  # the sentence-final "." now has a space before "Alice"
    assert blocks[1].splitlines()[2].split("\t")[9] == "NE=B-PER"


def test_writer_handles_unannotated_docs(vocab):
    from nlp_core.tokens import Doc

    doc = Doc(vocab, words=["Hello", "world"], spaces=[True, False])
    assert doc_to_conllu(doc).splitlines() == [
        "# sent_id = 1", "# text = Hello world",
        "1\tHello\t_\t_\t_\t_\t_\t_\t_\t_", "2\tworld\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No", ""]


def _bad_file(tmp_path, token_line: str) -> Path:
    good = "1\tfine\tfine\tADJ\tJJ\t_\t0\troot\t_\t_"
    path = tmp_path / "bad.conllu"
    path.write_text(f"# text = fine\n{good}\n\n# text = bad\n{token_line}\n\n"
                    f"# text = fine\n{good}\n\n", encoding="utf8")
    return path


@pytest.mark.parametrize("line,reason", [
    ("1\tonly\tthree", "10 tab-separated fields"),
    ("x\tbad\tbad\tADJ\tJJ\t_\t0\troot\t_\t_", "invalid token ID"),
    ("2\tbad\tbad\tADJ\tJJ\t_\t0\troot\t_\t_", "expected 1, got 2"),
    ("1\tbad\tbad\tADJ\tJJ\t_\t7\tamod\t_\t_", "HEAD '7'"),
    ("1\tbad\tbad\tADJ\tJJ\t_\tx\tamod\t_\t_", "invalid HEAD"),
    ("1\tbad\tbad\tNOPE\tJJ\t_\t0\troot\t_\t_", "invalid UPOS"),
    ("1\tbad\tbad\tADJ\tJJ\tNoEquals\t0\troot\t_\t_", "invalid FEATS"),
])
def test_malformed_line_names_file_and_line(tmp_path, line, reason):
    path = _bad_file(tmp_path, line)
    with pytest.raises(ValueError, match=reason) as err:
        list(read_conllu(path))
    assert f"{path}:5:" in str(err.value)


def test_malformed_sentences_can_be_skipped_or_routed(tmp_path):
    path = _bad_file(tmp_path, "1\tonly\tthree")
    with pytest.warns(UserWarning, match="Skipped 1 bad records"):
        docs = list(read_conllu(path, on_error="skip"))
    assert [d.text for d in docs] == ["fine ", "fine "]
    seen = []
    docs = list(read_conllu(path, on_error=seen.append))
    assert len(docs) == 2
    assert seen == [BadRecord(str(path), 5, "1\tonly\tthree", seen[0].reason)]
    assert "10 tab-separated fields" in seen[0].reason


def test_gzip_input(tmp_path):
    import gzip

    path = tmp_path / "sample.conllu.gz"
    path.write_bytes(gzip.compress((FIXTURES / "sample.conllu").read_bytes()))
    assert [d.text for d in read_conllu(path)] == ["They didn't go.", "Alice met Bob in Paris"]


def test_text_comment_supplies_spaces_when_space_after_is_missing(tmp_path):
    rows = ["Hello", ",", "world", "."]
    lines = ["# text = Hello, world."] + [
        f"{i}\t{w}\t_\t_\t_\t_\t_\t_\t_\t_" for i, w in enumerate(rows, start=1)]
    path = tmp_path / "nospaceafter.conllu"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf8")
    (doc,) = read_conllu(path)
    assert doc.text == "Hello, world."
    assert not doc.has_annotation("DEP") and not doc.has_annotation("LEMMA")
