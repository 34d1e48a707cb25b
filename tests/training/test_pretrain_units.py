"""Pretraining parts (issue 15): masking, character targets, losses, the pretraining
network's gradient, checkpoints and the optimizer state, the raw-text reader."""
import gzip
import json

import numpy
import pytest
import srsly
from thinc.api import Adam, Linear, Model

from nlp_core import blank
from nlp_core.ml.pretrain_linear import BlasLinear
from nlp_core.ml.pretrain_masking import (
    KEPT,
    MASK_TOKEN,
    MASKED,
    PAD_BYTE,
    RANDOM,
    end_bytes,
    mask_docs,
)
from nlp_core.ml.pretrain_model import build_pretrain_model
from nlp_core.ml.pretrain_objectives import PretrainCharacters, PretrainVectors, cosine_loss
from nlp_core.ml.tok2vec import Tok2Vec
from nlp_core.registry import registry
from nlp_core.tokens import Doc, DocBin
from nlp_core.training.corpus import JsonlCorpus, split_doc
from nlp_core.training.pretrain_checkpoint import (
    architecture_differences,
    read_checkpoint,
    write_checkpoint,
)
from nlp_core.training.pretrain_state import optimizer_state, restore_optimizer

WORDS = "the cat sat on the mat while a dog barked at the mailman outside".split()


@pytest.fixture(scope="module")
def nlp():
    return blank("en")


def _docs(nlp, n_docs, length=40, seed=0):
    rng = numpy.random.default_rng(seed)
    return [Doc(nlp.vocab, words=[WORDS[i] for i in rng.integers(0, len(WORDS), length)])
            for _ in range(n_docs)]


def test_masking_proportions_match_spacy(nlp):
    docs = _docs(nlp, 500)  # 20,000 tokens
    masking = mask_docs(docs, numpy.random.default_rng(1))
    n = sum(len(d) for d in docs)
    assert abs(len(masking.positions) / n - 0.15) < 0.01
    shares = numpy.bincount(masking.action, minlength=3) / len(masking.action)
    assert abs(shares[MASKED] - 0.8) < 0.02
    assert abs(shares[RANDOM] - 0.1) < 0.015
    assert abs(shares[KEPT] - 0.1) < 0.015


def test_masked_docs_replace_only_chosen_tokens_and_keep_text_consistent(nlp):
    docs = _docs(nlp, 50)
    masking = mask_docs(docs, numpy.random.default_rng(2))
    before = numpy.concatenate([d.column("orth") for d in docs])
    after = numpy.concatenate([d.column("orth") for d in masking.docs])
    others = numpy.setdiff1d(numpy.arange(len(before)), masking.positions)
    assert (after[others] == before[others]).all()
    assert (masking.orths == before[masking.positions]).all()
    mask_id = nlp.vocab.strings[MASK_TOKEN]
    chosen_after = after[masking.positions]
    assert (chosen_after[masking.action == MASKED] == mask_id).all()
    assert (chosen_after[masking.action == KEPT] == masking.orths[masking.action == KEPT]).all()
    assert numpy.isin(chosen_after[masking.action == RANDOM], before).all()
    for doc in masking.docs:  # each token's text is where its offsets say
        assert [t.text for t in doc] == [nlp.vocab.strings[o] for o in doc.column("orth")]
        assert doc.text == "".join(t.text_with_ws for t in doc)


def test_character_targets_are_utf8_bytes_from_each_end(nlp):
    strings = nlp.vocab.strings
    orths = numpy.asarray([strings.add(w) for w in ("née", "€", "a", "mailman")],
                          dtype=numpy.uint64)
    got = end_bytes(nlp.vocab, orths, 2)
    assert got.dtype == numpy.uint8 and got.shape == (4, 4)
    assert got[0].tolist() == [0x6E, 0xC3, 0xA9, 0x65]          # n é(c3 a9) e
    assert got[1].tolist() == [0xE2, 0x82, 0x82, 0xAC]          # € is e2 82 ac
    assert got[2].tolist() == [0x61, PAD_BYTE, PAD_BYTE, 0x61]  # shorter than n bytes
    assert got[3].tolist() == list(b"ma") + list(b"an")
    four = end_bytes(nlp.vocab, orths[1:2], 4)[0].tolist()
    assert four == [0xE2, 0x82, 0xAC, PAD_BYTE, PAD_BYTE, 0xE2, 0x82, 0xAC]


def test_character_loss_is_cross_entropy_with_its_gradient():
    objective = PretrainCharacters(n_characters=1)
    rng = numpy.random.default_rng(0)
    predictions = rng.normal(size=(3, 2 * 256)).astype("float32")
    targets = numpy.asarray([[1, 2], [255, 0], [7, 7]], dtype=numpy.uint8)
    loss, grad = objective.loss(predictions.copy(), targets)
    logits = predictions.astype("float64").reshape(3, 2, 256)
    logp = logits - numpy.log(numpy.exp(logits).sum(axis=2, keepdims=True))
    expected = -sum(logp[i, j, targets[i, j]] for i in range(3) for j in range(2))
    assert loss == pytest.approx(expected, rel=1e-5)
    eps, (i, j) = 1e-3, (1, 256 + 5)
    up, down = predictions.astype("float64"), predictions.astype("float64")
    up[i, j] += eps
    down[i, j] -= eps

    def ce(p):
        lg = p.reshape(3, 2, 256)
        lp = lg - numpy.log(numpy.exp(lg).sum(axis=2, keepdims=True))
        return -sum(lp[a, b, targets[a, b]] for a in range(3) for b in range(2)) / 3

    assert grad[i, j] == pytest.approx((ce(up) - ce(down)) / (2 * eps), rel=1e-3)


def test_cosine_loss_ignores_tokens_without_a_vector():
    rng = numpy.random.default_rng(0)
    predictions = rng.normal(size=(3, 4)).astype("float32")
    targets = rng.normal(size=(3, 4)).astype("float32")
    targets[1] = 0
    loss, grad = cosine_loss(predictions, targets)
    assert (grad[1] == 0).all()

    def mean_distance(p):
        used = [0, 2]
        cos = [p[i] @ targets[i] / (numpy.linalg.norm(p[i]) * numpy.linalg.norm(targets[i]))
               for i in used]
        return sum(1 - c for c in cos) / 2

    assert loss == pytest.approx(2 * mean_distance(predictions.astype("float64")), rel=1e-5)
    eps = 1e-3
    up, down = predictions.astype("float64"), predictions.astype("float64")
    up[2, 1] += eps
    down[2, 1] -= eps
    numeric = (mean_distance(up) - mean_distance(down)) / (2 * eps)
    assert grad[2, 1] == pytest.approx(numeric, rel=1e-3, abs=1e-6)


def test_objective_settings_are_checked():
    with pytest.raises(ValueError, match="E520.*n_characters"):
        PretrainCharacters(n_characters=0)
    with pytest.raises(ValueError, match="E520.*loss"):
        PretrainVectors(loss="L1")
    assert registry.architectures.get("spacy.PretrainCharacters.v1") is PretrainCharacters
    assert registry.architectures.get("nlp_core.PretrainVectors.v1") is PretrainVectors


def test_vectors_objective_says_a_table_is_needed(nlp):
    with pytest.raises(ValueError, match="vectors objective"):
        PretrainVectors().check(blank("en").vocab)


class _Capture:
    """A tok2vec stand-in: a fixed embedding per orth, recording the gradient it gets."""

    def __init__(self, width):
        self.width = width
        self.grads = None

    def model(self) -> Model:
        def forward(model, docs, is_train):
            rows = [numpy.stack([numpy.sin(numpy.arange(self.width, dtype="float32")
                                           + float(o % 97)) for o in d.column("orth")])
                    for d in docs]

            def backprop(d_rows):
                self.grads = numpy.concatenate(d_rows)
                return []

            return rows, backprop

        return Model("capture", forward, dims={"nO": self.width})


def test_loss_and_gradient_are_on_masked_tokens_only(nlp):
    docs = _docs(nlp, 6, length=30)
    capture = _Capture(8)
    objective = PretrainCharacters(hidden_size=16, n_characters=2)
    model = build_pretrain_model(capture.model(), objective, nlp.vocab, docs[:1])
    masking = mask_docs(docs, numpy.random.default_rng(3))
    predictions, backprop = model(masking, is_train=True)
    assert predictions.shape == (len(masking.positions), 2 * 2 * 256)
    targets = objective.targets(nlp.vocab, masking.orths)
    loss, d_predictions = objective.loss(predictions, targets)
    backprop(d_predictions)
    touched = numpy.flatnonzero(numpy.abs(capture.grads).sum(axis=1) > 0)
    assert set(touched.tolist()) <= set(masking.positions.tolist())
    assert len(touched) == len(masking.positions)
    # the targets are the original words, not what the model saw
    assert (targets == end_bytes(nlp.vocab, masking.orths, 2)).all()


def _tok2vec(width=16):
    embed = registry.architectures.get("spacy.MultiHashEmbed.v2")(
        width=width, attrs=["NORM", "PREFIX"], rows=[50, 20], include_static_vectors=False)
    encode = registry.architectures.get("spacy.MaxoutWindowEncoder.v2")(
        width=width, depth=1, window_size=1, maxout_pieces=2)
    return Tok2Vec(embed, encode)


def test_checkpoint_provenance_round_trip_and_checksum(tmp_path):
    provenance = {"component": "tok2vec", "layer": "", "architecture": {"width": 96},
                  "objective": {"name": "spacy.PretrainCharacters.v1", "n_characters": 4},
                  "epoch": 3, "step": 120, "corpus": {"fingerprint": "blake2b:ab"}}
    path = tmp_path / "model3.bin"
    checksum = write_checkpoint(path, provenance, b"weights", {"position": {"epoch": 4}})
    read = read_checkpoint(path)
    assert read.provenance == provenance and read.weights == b"weights"
    assert read.checksum == checksum and read.resume == {"position": {"epoch": 4}}
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="E526"):
        read_checkpoint(path)
    layer = Linear(2, 2)  # thinc weights without provenance, as spaCy's pretrain writes
    layer.initialize()
    (tmp_path / "raw.bin").write_bytes(layer.to_bytes())
    with pytest.raises(ValueError, match="E525"):
        read_checkpoint(tmp_path / "raw.bin")
    (tmp_path / "junk.bin").write_bytes(b"\xc1 not msgpack")
    with pytest.raises(ValueError, match="E525"):
        read_checkpoint(tmp_path / "junk.bin")


def test_architecture_differences_name_each_setting():
    saved = {"@architectures": "spacy.Tok2Vec.v2", "embed": {"width": 96, "rows": [5, 1]},
             "encode": {"width": 96, "depth": 4}}
    current = {"@architectures": "spacy.Tok2Vec.v2", "embed": {"width": 128, "rows": [5, 1]},
               "encode": {"width": 128, "depth": 4}}
    assert architecture_differences(saved, current) == ["embed.width 96 != 128",
                                                        "encode.width 96 != 128"]
    assert architecture_differences(saved, saved) == []


def test_optimizer_state_round_trip(nlp):
    docs = _docs(nlp, 4, length=12)

    def build():
        tok2vec = _tok2vec()
        tok2vec.initialize(X=docs)
        return tok2vec

    first = build()
    optimizer = Adam(0.01, use_averages=True)
    for _ in range(3):
        rows, backprop = first(docs, is_train=True)
        backprop([r * 0 + 1 for r in rows])
        first.finish_update(optimizer)
        optimizer.step_schedules()
    state = optimizer_state(optimizer, first)
    # the state must survive msgpack, as in a checkpoint
    state = srsly.msgpack_loads(srsly.msgpack_dumps(state))
    second = build()
    second.from_bytes(first.to_bytes())
    fresh = Adam(0.01, use_averages=True)
    restore_optimizer(fresh, second, state)
    assert fresh.step == optimizer.step
    for a, b in zip(first.walk(), second.walk()):
        for name in a.param_names:
            key_a, key_b = (a.id, name), (b.id, name)
            assert fresh.nr_update[key_b] == optimizer.nr_update[key_a]
            numpy.testing.assert_array_equal(fresh.mom1[key_b], optimizer.mom1[key_a])
            numpy.testing.assert_array_equal(fresh.mom2[key_b], optimizer.mom2[key_a])
            numpy.testing.assert_array_equal(fresh.averages[key_b], optimizer.averages[key_a])


def test_long_documents_are_split_not_dropped(nlp, tmp_path):
    sentence = "The dog barked at the cat . "
    text = sentence * 150  # 1,050 tokens
    path = tmp_path / "text.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf8") as out:
        out.write(json.dumps({"text": text}) + "\n")
        out.write("{not json\n")
        out.write(json.dumps({"text": "Short one ."}) + "\n")
    corpus = JsonlCorpus(path, min_length=5, max_length=100)
    with pytest.warns(UserWarning):
        pieces = [eg.predicted for eg in corpus(nlp)]
    assert all(len(p) < 100 for p in pieces)
    assert sum(len(p) for p in pieces) == len(nlp.make_doc(text))
    assert all(p[-1].text == "." for p in pieces[:-1])  # cut at sentence ends
    assert corpus.stats["split"] == 1 and corpus.stats["pieces"] == len(pieces)
    assert corpus.stats["bad_records"] == 1 and corpus.stats["too_short"] == 1


def test_split_doc_cuts_at_the_length_without_sentence_ends(nlp):
    doc = Doc(nlp.vocab, words=["w"] * 25)
    pieces = split_doc(doc, 10)
    assert [len(p) for p in pieces] == [9, 9, 7]


def test_spacy_files_are_read_for_their_text(nlp, tmp_path):
    docs = [nlp.make_doc("A first text with words ."), nlp.make_doc("And a second one here .")]
    DocBin(docs=docs).to_disk(tmp_path / "texts.spacy")
    corpus = JsonlCorpus(tmp_path, min_length=1)
    assert [eg.predicted.text for eg in corpus(nlp)] == [d.text for d in docs]
    assert corpus.fingerprint()["files"] == 1


def test_blas_linear_matches_thinc_linear():
    rng = numpy.random.default_rng(0)
    X = rng.normal(size=(5, 7)).astype("float32")
    dY = rng.normal(size=(5, 3)).astype("float32")
    ours, theirs = BlasLinear(nO=3, nI=7), Linear(nO=3, nI=7)
    ours.initialize()
    theirs.initialize()
    theirs.set_param("W", ours.get_param("W").copy())
    theirs.set_param("b", rng.normal(size=(3,)).astype("float32"))
    ours.set_param("b", theirs.get_param("b").copy())
    Y1, bp1 = ours(X, is_train=True)
    Y2, bp2 = theirs(X, is_train=True)
    numpy.testing.assert_allclose(Y1, Y2, rtol=1e-5)
    numpy.testing.assert_allclose(bp1(dY), bp2(dY), rtol=1e-5)
    for name in ("W", "b"):
        numpy.testing.assert_allclose(ours.get_grad(name), theirs.get_grad(name), rtol=1e-5)


def test_a_truncated_gz_file_is_named(nlp, tmp_path):
    data = gzip.compress(("".join(json.dumps({"text": f"Text number {i} is here ."}) + "\n"
                                  for i in range(400))).encode("utf8"))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"E537.*cut\.jsonl\.gz.*truncated"):
        list(JsonlCorpus(path)(nlp))
