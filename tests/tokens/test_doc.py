import numpy
import pytest

from nlp_core import attrs
from nlp_core.tokens import Doc, Span

WORDS = ["From", "the", "AP", "comes", "this", "story", ":"]
SPACES = [True, True, True, True, True, True, False]
HEADS = [3, 2, 0, 3, 5, 3, 3]
DEPS = ["prep", "det", "pobj", "ROOT", "det", "dobj", "punct"]


@pytest.fixture
def doc(vocab):
    return Doc(vocab, words=WORDS, spaces=SPACES,
               tags=["IN", "DT", "NNP", "VBZ", "DT", "NN", ":"],
               pos=["ADP", "DET", "PROPN", "VERB", "DET", "NOUN", "PUNCT"],
               lemmas=["from", "the", "AP", "come", "this", "story", ":"],
               heads=HEADS, deps=DEPS, ents=["O", "O", "B-ORG", "O", "O", "O", "O"],
               morphs=["", "Definite=Def|PronType=Art", "Number=Sing", "_", None, None, None])


def test_text_and_tokens(doc):
    assert doc.text == "From the AP comes this story :"
    assert len(doc) == 7
    assert [t.text for t in doc] == WORDS
    assert [t.idx for t in doc] == [0, 5, 9, 12, 18, 23, 29]
    assert doc[-1].text == ":" and doc[-1].whitespace_ == ""
    assert doc[0].text_with_ws == "From "
    assert doc.token_texts() == WORDS


def test_default_spaces_and_validation(vocab):
    assert Doc(vocab, words=["a", "b"]).text == "a b "
    with pytest.raises(ValueError, match="2 words and 1 spaces"):
        Doc(vocab, words=["a", "b"], spaces=[True])
    with pytest.raises(ValueError, match="word 1"):
        Doc(vocab, words=["a", ""])
    with pytest.raises(IndexError):
        Doc(vocab, words=["a"])[3]


def test_annotations(doc):
    assert doc[2].tag_ == "NNP" and doc[2].pos_ == "PROPN" and doc[2].pos == 96
    assert doc[3].lemma_ == "come" and doc[3].dep_ == "ROOT"
    assert str(doc[1].morph) == "Definite=Def|PronType=Art"
    assert doc[1].morph.get("PronType") == ["Art"]
    assert str(doc[3].morph) == "" and doc[3].has_morph() and not doc[4].has_morph()
    doc[4].morph = "PronType=Dem|Number=Sing"
    assert str(doc[4].morph) == "Number=Sing|PronType=Dem"
    with pytest.raises(ValueError, match="NOUNS"):
        doc[0].pos_ = "NOUNS"


def test_parse_tree(doc):
    assert [t.head.i for t in doc] == HEADS
    assert [c.text for c in doc[3].children] == ["From", "story", ":"]
    assert [t.text for t in doc[3].lefts] == ["From"]
    assert [t.text for t in doc[3].rights] == ["story", ":"]
    assert [t.text for t in doc[0].subtree] == ["From", "the", "AP"]
    assert doc[0].left_edge.i == 0 and doc[0].right_edge.i == 2
    assert [t.i for t in doc[1].ancestors] == [2, 0, 3]
    assert doc[3].is_ancestor(doc[1])
    doc[6].head = doc[5]
    assert [c.i for c in doc[5].children] == [4, 6]


def test_sentences_from_parse_and_from_flags(vocab, doc):
    assert [t.is_sent_start for t in doc] == [True] + [False] * 6
    assert [s.text for s in doc.sents] == [doc.text]
    two = Doc(vocab, words=["a", "b", "c", "d"], heads=[1, 1, 3, 3], deps=["x", "ROOT", "y", "ROOT"])
    assert [s.text for s in two.sents] == ["a b", "c d"]
    assert two[2].sent.text == "c d"
    flat = Doc(vocab, words=["Hi", ".", "Bye", "."])
    assert flat[2].is_sent_start is None
    with pytest.raises(ValueError, match="sentence"):
        list(flat.sents)
    flat[2].is_sent_start = True
    assert [s.text for s in flat.sents] == ["Hi .", "Bye ."]


def test_entities(vocab, doc):
    assert [(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents] == [("AP", "ORG", 9, 11)]
    assert [t.ent_iob_ for t in doc] == ["O", "O", "B", "O", "O", "O", "O"]
    doc.ents = [Span(doc, 4, 6, label="WORK"), ("ORG", 1, 3)]
    assert [(e.text, e.label_) for e in doc.ents] == [("the AP", "ORG"), ("this story", "WORK")]
    assert doc[5].ent_iob_ == "I" and doc[0].ent_iob_ == "O"
    with pytest.raises(ValueError, match="overlap"):
        doc.ents = [Span(doc, 1, 3, label="A"), Span(doc, 2, 4, label="B")]
    doc.set_ents([Span(doc, 0, 1, label="X")], default="unmodified")
    assert [e.label_ for e in doc.ents] == ["X", "ORG", "WORK"]


def test_char_span_modes(doc):
    assert doc.char_span(5, 11).text == "the AP"
    assert doc.char_span(5, 10) is None
    assert doc.char_span(5, 10, alignment_mode="contract").text == "the"
    assert doc.char_span(6, 10, alignment_mode="expand").text == "the AP"
    assert doc.char_span(9, 11, label="ORG").label_ == "ORG"
    with pytest.raises(ValueError, match="alignment_mode"):
        doc.char_span(0, 4, alignment_mode="loose")


def test_to_array_matches_spacy_conventions(doc):
    array = doc.to_array(["ORTH", attrs.HEAD, "DEP", "SENT_START", "ENT_IOB", "POS"])
    assert array.dtype == numpy.uint64 and array.shape == (7, 6)
    assert array[0, 1] == 3 and array[2, 1] == numpy.uint64(2**64 - 2)  # relative heads wrap
    assert array[1, 3] == numpy.uint64(2**64 - 1) and array[0, 3] == 1
    assert array[2, 4] == 3 and array[0, 5] == 85
    assert doc.to_array("LOWER")[0] == doc.vocab.strings["from"]
    assert doc.to_array("IS_PUNCT").tolist() == [0, 0, 0, 0, 0, 0, 1]


def test_from_array_round_trip(vocab, doc):
    names = ["HEAD", "DEP", "TAG", "POS", "LEMMA", "MORPH", "ENT_IOB", "ENT_TYPE", "SENT_START"]
    copy = Doc(vocab, words=WORDS, spaces=SPACES).from_array(names, doc.to_array(names))
    for a, b in zip(doc, copy):
        assert (a.head.i, a.dep_, a.tag_, a.pos_, a.lemma_, str(a.morph), a.ent_iob_,
                a.ent_type_, a.is_sent_start) == (b.head.i, b.dep_, b.tag_, b.pos_, b.lemma_,
                                                  str(b.morph), b.ent_iob_, b.ent_type_,
                                                  b.is_sent_start)
    with pytest.raises(ValueError, match="shape"):
        copy.from_array(["TAG", "DEP"], doc.to_array(["TAG"]))
    with pytest.raises(ValueError, match="out of range"):
        copy.from_array(["HEAD"], numpy.array([50, 0, 0, 0, 0, 0, 0], dtype=numpy.uint64))


def test_span_views(doc):
    span = doc[1:3]
    assert span.text == "the AP" and span.start_char == 5 and span.end_char == 11
    assert len(span) == 2 and span[0].text == "the" and span[-1].text == "AP"
    assert span.root.text == "AP"
    assert doc[0:7].root.text == "comes"
    assert span.sent.text == doc.text
    assert [e.text for e in doc[0:4].ents] == ["AP"]
    sub = doc[1:6].as_doc()
    assert sub.text == "the AP comes this story " and sub[0].tag_ == "DT"
    assert sub[1].head.i == 1  # head outside the span becomes a root


def test_extensions(vocab, doc):
    from nlp_core.tokens import Token

    Doc.set_extension("topic", default=None, force=True)
    Span.set_extension("shout", getter=lambda s: s.text.upper(), force=True)
    Token.set_extension("tags_seen", default=[], force=True)
    Doc.set_extension("count", method=lambda d, x: len(d) * x, force=True)
    assert doc._.topic is None
    doc._.topic = "news"
    assert doc._.topic == "news" and doc.user_data[("._.", "topic", None, None)] == "news"
    assert doc[1:3]._.shout == "THE AP"
    doc[0]._.tags_seen.append("IN")
    assert doc[0]._.tags_seen == ["IN"] and doc[1]._.tags_seen == []
    assert doc._.count(2) == 14
    with pytest.raises(AttributeError, match="getter but no setter"):
        doc[1:3]._.shout = "x"
    with pytest.raises(AttributeError, match="set_extension"):
        _ = doc._.missing
    with pytest.raises(ValueError, match="already exists"):
        Doc.set_extension("topic", default=1)
    with pytest.raises(ValueError, match="exactly one"):
        Doc.set_extension("bad", default=1, getter=len, force=True)


def test_span_groups(doc):
    doc.spans["sc"] = [doc[0:2], doc[1:4]]
    group = doc.spans["sc"]
    assert group.name == "sc" and len(group) == 2 and group.has_overlap
    restored = Doc(doc.vocab, words=WORDS, spaces=SPACES)
    restored.spans.from_bytes(doc.spans.to_bytes())
    assert [s.text for s in restored.spans["sc"]] == ["From the", "the AP comes"]


def test_from_docs(vocab, doc):
    other = Doc(vocab, words=["Bye", "."], spaces=[False, False], ents=["B-PER", "O"])
    Doc.set_extension("source", default=None, force=True)
    other._.source = "b"
    other.spans["sc"] = [other[0:1]]
    merged = Doc.from_docs([doc, other])
    assert merged.text == "From the AP comes this story : Bye."
    assert len(merged) == 9
    assert [e.text for e in merged.ents] == ["AP", "Bye"]
    assert merged[8].head.i == 8 and merged[0].head.i == 3
    assert [s.text for s in merged.sents] == ["From the AP comes this story :", "Bye."]
    assert [s.text for s in merged.spans["sc"]] == ["Bye"]
    assert merged._.source == "b"


def test_bytes_round_trip_keeps_everything(doc):
    doc.spans["sc"] = [doc[0:2]]
    doc.cats = {"news": 1.0}
    copy = Doc.from_bytes(doc.vocab, doc.to_bytes())
    assert copy.text == doc.text
    assert copy.to_array(["TAG", "HEAD", "DEP", "ENT_IOB", "MORPH"]).tolist() == \
        doc.to_array(["TAG", "HEAD", "DEP", "ENT_IOB", "MORPH"]).tolist()
    assert copy.cats == {"news": 1.0} and [s.text for s in copy.spans["sc"]] == ["From the"]


def test_has_annotation(vocab, doc):
    assert doc.has_annotation("TAG") and doc.has_annotation("DEP")
    assert doc.has_annotation("SENT_START")
    blank = Doc(vocab, words=["a"])
    assert not blank.has_annotation("TAG") and not blank.has_annotation("DEP")


def test_odd_text_survives(vocab):
    words = ["naïve", "👩‍👩‍👧", "שלום", "\u0301x", "\t"]
    doc = Doc(vocab, words=words, spaces=[True, False, True, False, False])
    assert doc.text == "naïve 👩‍👩‍👧שלום \u0301x\t"
    assert [t.text for t in doc] == words
