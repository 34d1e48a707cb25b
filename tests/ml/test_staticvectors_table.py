"""StaticVectors and MultiHashEmbed with the real `Vectors` table (issue 13, item 3): keys
by the table's `attr` (LOWER for GloVe's lowercased words), zeros for missing keys, the
same through get_batch, find and a memory-mapped table."""
import numpy
from thinc.types import Ragged

from nlp_core.ml import MultiHashEmbed, StaticVectors
from nlp_core.tokens import Doc
from nlp_core.vectors import Vectors
from nlp_core.vocab import Vocab

WORDS = ["the", "dog", "barks"]


def _vocab(attr="LOWER", mmap_dir=None):
    vocab = Vocab()
    data = numpy.arange(15, dtype="float32").reshape(3, 5) / 7
    table = Vectors(strings=vocab.strings, data=data,
                    keys=[vocab.strings.add(w) for w in WORDS], attr=attr)
    if mmap_dir is not None:
        table.to_disk(mmap_dir)
        table = Vectors(strings=vocab.strings).from_disk(mmap_dir, mmap_mode="r")
    vocab.vectors = table
    return vocab, data


def test_static_vectors_keys_by_the_tables_attr(tmp_path):
    for mmap_dir in (None, tmp_path / "table"):
        vocab, data = _vocab(mmap_dir=mmap_dir)
        docs = [Doc(vocab, words=["The", "DOG", "barks", "loudly"])]
        model = StaticVectors(nO=4)   # key_attr ORTH, but the table says LOWER
        model.initialize(X=docs)
        Y = model.predict(docs)
        assert isinstance(Y, Ragged) and list(Y.lengths) == [4]
        W = model.get_param("W")
        numpy.testing.assert_allclose(Y.data[:3], data @ W.T, rtol=1e-5)
        numpy.testing.assert_array_equal(Y.data[3], numpy.zeros(4))   # no vector


def test_orth_table_misses_other_cases():
    vocab, data = _vocab(attr="ORTH")
    docs = [Doc(vocab, words=["The", "the"])]
    model = StaticVectors(nO=3)
    model.initialize(X=docs)
    Y = model.predict(docs)
    numpy.testing.assert_array_equal(Y.data[0], numpy.zeros(3))
    numpy.testing.assert_allclose(Y.data[1], data[0] @ model.get_param("W").T, rtol=1e-5)


def test_multi_hash_embed_reads_the_table():
    vocab, _ = _vocab()
    docs = [Doc(vocab, words=["The", "dog", "barks"]), Doc(vocab, words=["Dog"])]
    model = MultiHashEmbed(width=8, attrs=["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                           rows=[50, 25, 25, 25], include_static_vectors=True)
    model.initialize(X=docs)
    assert model.get_ref("static_vectors").get_dim("nM") == 5
    before = [y.copy() for y in model.predict(docs)]
    vocab.vectors.data[1] += 1.0   # the row of "dog" (and "Dog": LOWER)
    after = model.predict(docs)
    changed = [numpy.abs(a - b).max(axis=1) > 1e-6 for a, b in zip(after, before)]
    assert [c.tolist() for c in changed] == [[False, True, False], [True]]
