"""The public column API of Doc: reading, writing and building from columns."""
import zlib

import numpy
import pytest
import srsly
from shared_data import shared_path

from nlp_core.tokens import Doc, DocBin
from nlp_core.tokens.annotation import COLUMN_DTYPES, CORE_COLUMNS
from nlp_core.vocab import Vocab

WORDS = ["Mary", "met", "John", ".", "He", "smiled", "!"]
SPACES = [True, True, False, True, True, False, False]
HEADS = [1, 1, 1, 1, 5, 5, 5]
DEPS = ["nsubj", "ROOT", "obj", "punct", "nsubj", "ROOT", "punct"]


@pytest.fixture
def doc(vocab):
    return Doc(vocab, words=WORDS, spaces=SPACES, tags=["NNP", "VBD", "NNP", ".", "PRP",
                                                        "VBD", "."])


def test_column_reads_the_stored_values_without_a_copy(doc):
    tags = doc.column("tag")
    assert tags.dtype == numpy.uint64 and tags.shape == (len(WORDS),)
    assert [doc.vocab.strings[int(t)] for t in tags] == [t.tag_ for t in doc]
    assert numpy.shares_memory(tags, doc.column("tag"))
    doc[0].tag_ = "NN"  # a view: later changes to the Doc show through
    assert doc.vocab.strings[int(tags[0])] == "NN"


def test_column_is_read_only(doc):
    with pytest.raises(ValueError, match="read-only"):
        doc.column("tag")[0] = 0
    with pytest.raises(ValueError, match="read-only"):
        doc.column("trailing_space")[:] = True
    assert doc.column("tag").copy().flags.writeable  # a copy is the caller's to change


def test_concat_column_joins_many_docs_with_zeros_where_a_column_is_missing(doc, vocab):
    plain = Doc(vocab, words=["Hi", "there"])  # no tags stored
    empty = Doc(vocab, words=[])
    docs = [doc, empty, plain, doc]
    for name in ("tag", "idx", "head", "sent_start", "ent_iob"):
        joined = Doc.concat_column(docs, name)
        expected = numpy.concatenate([d.column(name) for d in docs])
        assert joined.dtype == COLUMN_DTYPES[name] and joined.tolist() == expected.tolist()
    joined = Doc.concat_column(docs, "tag")
    assert joined[len(WORDS):len(WORDS) + 2].tolist() == [0, 0]
    joined[0] = 0  # a new array, the caller's to change
    assert doc.column("tag")[0] != 0
    assert Doc.concat_column([], "dep").dtype == COLUMN_DTYPES["dep"]
    assert len(Doc.concat_column([], "dep")) == 0
    with pytest.raises(ValueError, match="nope"):
        Doc.concat_column(docs, "nope")


def test_core_columns_describe_the_tokens(doc):
    assert doc.column_names[:4] == CORE_COLUMNS
    assert doc.column("trailing_space").tolist() == SPACES
    assert doc.column("idx").tolist() == [t.idx for t in doc]
    assert doc.column("length").tolist() == [len(w) for w in WORDS]
    assert [doc.vocab.strings[int(o)] for o in doc.column("orth")] == WORDS
    for name in CORE_COLUMNS:
        assert doc.column(name).dtype == COLUMN_DTYPES[name]


def test_an_unset_annotation_column_reads_as_zeros_and_is_not_stored(doc):
    assert not doc.has_column("ent_iob")
    iob = doc.column("ent_iob")
    assert iob.dtype == numpy.uint8 and iob.tolist() == [0] * len(WORDS)
    assert not doc.has_column("ent_iob") and "ent_iob" not in doc.column_names
    assert doc.column("head").dtype == numpy.int32


def test_unknown_column_names_are_refused_with_the_known_ones(doc):
    for call in (doc.column, doc.has_column, lambda name: doc.set_column(name, [0] * 7)):
        with pytest.raises(ValueError, match=r"no column 'tags'.*trailing_space.*ent_iob"):
            call("tags")


def test_set_column_stores_a_copy_that_the_token_views_see(doc):
    ids = numpy.array([doc.vocab.strings.add(w.lower()) for w in WORDS], dtype=numpy.uint64)
    doc.set_column("lemma", ids)
    assert [t.lemma_ for t in doc] == [w.lower() for w in WORDS]
    ids[0] = 0  # the Doc kept its own copy
    assert doc[0].lemma_ == "mary"
    assert doc.has_column("lemma") and "lemma" in doc.column_names


def test_set_column_takes_lists_of_string_ids_above_two_to_the_63(vocab):
    doc = Doc(vocab, words=["a", "b"])
    big = next(h for h in (vocab.strings.add(f"label{i}") for i in range(100)) if h >= 2 ** 63)
    doc.set_column("tag", [big, 0])  # numpy alone would turn this list into floats
    assert doc.column("tag").tolist() == [big, 0]


def test_set_column_names_the_column_and_the_expected_length(doc):
    with pytest.raises(ValueError, match=r"'dep' got 3 values for a Doc of 7 tokens.*\(7,\)"):
        doc.set_column("dep", [1, 2, 3])
    with pytest.raises(ValueError, match=r"'dep' got an array of shape \(7, 1\)"):
        doc.set_column("dep", numpy.zeros((7, 1), dtype=numpy.uint64))


@pytest.mark.parametrize("name,values,message", [
    ("tag", [0.5] * 7, r"'tag' holds uint64 values; got dtype float64"),
    ("tag", ["NN"] * 7, r"'tag' holds uint64 values; got dtype <U2"),
    ("tag", [-1] + [0] * 6, r"'tag' holds uint64 values; got the value -1"),
    ("ent_iob", [256] + [0] * 6, r"'ent_iob' holds uint8 values; got the value 256"),
    ("ent_iob", [4] + [0] * 6, r"'ent_iob': token 0 has 4, expected a value in \[0, 3\]"),
    ("sent_start", [1, 2, 0, 0, 0, 0, 0], r"'sent_start': token 1 has 2"),
    ("head", [0, 0, 0, 0, 0, 0, 1], r"Head index 7 of token 6 is out of range"),
])
def test_set_column_refuses_values_that_do_not_fit(doc, name, values, message):
    before = doc.column(name).copy()
    with pytest.raises(ValueError, match=message):
        doc.set_column(name, values)
    numpy.testing.assert_array_equal(doc.column(name), before)


def test_core_columns_cannot_be_set(doc):
    with pytest.raises(ValueError, match=r"'trailing_space'.*Doc.from_columns"):
        doc.set_column("trailing_space", [True] * 7)


def test_setting_heads_rebuilds_the_parse_tree(vocab):
    doc = Doc(vocab, words=WORDS, spaces=SPACES, heads=HEADS, deps=DEPS)
    assert [c.i for c in doc[1].children] == [0, 2, 3]
    heads = numpy.array([1, 1, 1, 1, 1, 4, 5])  # "He" now hangs from "met"
    doc.set_column("head", heads - numpy.arange(7))
    assert [t.head.i for t in doc] == heads.tolist()
    assert [c.i for c in doc[1].children] == [0, 2, 3, 4]
    assert [t.i for t in doc[1].subtree] == list(range(7))


def test_from_columns_round_trips_a_doc(doc):
    cols = {name: doc.column(name).copy() for name in CORE_COLUMNS}
    with_idx = Doc.from_columns(doc.vocab, doc.text, cols["orth"], cols["length"],
                                cols["trailing_space"], idx=cols["idx"])
    without = Doc.from_columns(doc.vocab, doc.text, cols["orth"], cols["length"],
                               cols["trailing_space"])
    for built in (with_idx, without):
        assert built.text == doc.text and built.token_texts() == WORDS
        assert [t.whitespace_ for t in built] == [t.whitespace_ for t in doc]
        numpy.testing.assert_array_equal(built.column("idx"), doc.column("idx"))
        assert built.column_names == CORE_COLUMNS  # tokens only, no annotation


def test_from_columns_casts_lists_and_takes_arrays_of_its_dtypes(vocab):
    orth = numpy.array([vocab.strings.add("hi"), vocab.strings.add("!")], dtype=numpy.uint64)
    doc = Doc.from_columns(vocab, "hi!", orth, [2, 1], [False, False])
    assert doc.token_texts() == ["hi", "!"] and doc.column("length").dtype == numpy.int32
    assert numpy.shares_memory(doc.column("orth"), orth)
    assert len(Doc.from_columns(vocab, "", [], [], [])) == 0


def test_from_columns_checks_shapes_and_text(vocab):
    orth = [vocab.strings.add("a"), vocab.strings.add("b")]
    with pytest.raises(ValueError, match=r"length has shape \(3,\), expected \(2,\) like orth"):
        Doc.from_columns(vocab, "a b", orth, [1, 1, 1], [True, False])
    with pytest.raises(ValueError, match=r"idx has shape \(1,\)"):
        Doc.from_columns(vocab, "a b", orth, [1, 1], [True, False], idx=[0])
    with pytest.raises(ValueError, match="end at character 3 but the text has 4"):
        Doc.from_columns(vocab, "a b!", orth, [1, 1], [True, False])
    with pytest.raises(ValueError, match="'orth' holds uint64 values; got the value -1"):
        Doc.from_columns(vocab, "a b", [orth[0], -1], [1, 1], [True, False])


def test_ensure_sent_starts_derives_them_from_the_parse(vocab):
    doc = Doc(vocab, words=WORDS, spaces=SPACES, heads=HEADS, deps=DEPS)
    doc.set_column("sent_start", numpy.zeros(7, dtype=numpy.int8))  # forget them
    assert doc.ensure_sent_starts()
    assert doc.column("sent_start").tolist() == [1, -1, -1, -1, 1, -1, -1]
    assert [s.text for s in doc.sents] == ["Mary met John.", "He smiled!"]


def test_ensure_sent_starts_keeps_starts_that_are_set(vocab):
    doc = Doc(vocab, words=WORDS, spaces=SPACES, heads=HEADS, deps=DEPS,
              sent_starts=[True, False, False, False, False, False, False])
    assert doc.ensure_sent_starts()
    assert doc.column("sent_start").tolist() == [1, -1, -1, -1, -1, -1, -1]


def test_ensure_sent_starts_without_starts_or_parse_changes_nothing(vocab, doc):
    assert not doc.ensure_sent_starts()
    assert not doc.has_column("sent_start")
    assert not Doc(vocab, words=[]).ensure_sent_starts()


def test_to_dict_names_the_trailing_space_column_and_round_trips(doc):
    data = doc.to_dict()
    assert "trailing_space" in data["columns"] and "spacy" not in data["columns"]
    back = Doc.from_bytes(Vocab(lang="en"), doc.to_bytes())
    assert back.text == doc.text and back.column_names == doc.column_names
    for name in doc.column_names:
        numpy.testing.assert_array_equal(back.column(name), doc.column(name))


def test_from_dict_reads_data_written_before_the_rename(doc):
    data = doc.to_dict()
    data["columns"] = {("spacy" if name == "trailing_space" else name): value
                       for name, value in data["columns"].items()}
    back = Doc.from_dict(Vocab(lang="en"), data)
    assert back.column("trailing_space").tolist() == SPACES and back.text == doc.text


def test_docbin_spaces_are_the_trailing_space_column():
    """spaCy's files keep the SPACY attribute in the DocBin `spaces` field: reading one
    fills the column, writing it back gives the same field."""
    data = shared_path("interop", "ewt-dev-sm.spacy").read_bytes()
    docs = list(DocBin().from_bytes(data).get_docs(Vocab(lang="en")))
    spaces = numpy.concatenate([d.column("trailing_space") for d in docs])
    stored = srsly.msgpack_loads(zlib.decompress(data))["spaces"]
    assert spaces.tobytes() == stored
    for d in docs[:20]:
        numpy.testing.assert_array_equal(d.to_array("SPACY"), d.column("trailing_space"))
        assert [t.whitespace_ == " " for t in d] == d.column("trailing_space").tolist()
    written = DocBin(store_user_data=True, docs=docs).to_bytes()
    assert srsly.msgpack_loads(zlib.decompress(written))["spaces"] == stored
