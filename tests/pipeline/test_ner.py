"""The ner component: learns toy entities, respects sentence boundaries from an earlier
parser (and preset ones), partial annotation, incorrect_spans_key, beam search, save/load,
and the seed's shared and independent configs training through the CLI."""
from pathlib import Path

import numpy
import pytest
from thinc.api import Adam, fix_random_seed
from typer.testing import CliRunner

import nlp_core
from nlp_core.cli import app
from nlp_core.config import load_config_from_str
from nlp_core.language import Language
from nlp_core.ml.parser_model import seen_mask
from nlp_core.tokens import Doc, Span
from nlp_core.training import Example

SEED_CONFIGS = Path(__file__).resolve().parents[3] / "shared" / "seed" / "configs"
UNER = Path(__file__).parents[1] / "fixtures" / "formats" / "uner.iob2"
WIDTH = 32
TOK2VEC = {"@architectures": "spacy.Tok2Vec.v2",
           "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": WIDTH,
                     "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                     "rows": [500, 200, 200, 200], "include_static_vectors": False},
           "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": WIDTH,
                      "depth": 2, "window_size": 1, "maxout_pieces": 3}}
LISTENER = {"@architectures": "spacy.Tok2VecListener.v1", "width": WIDTH}
TOY = [
    ("I flew to New York with Mary", ["O", "O", "O", "B-LOC", "L-LOC", "O", "U-PER"]),
    ("Mary lives in Paris", ["U-PER", "O", "O", "U-LOC"]),
    ("John Smith likes New York", ["B-PER", "L-PER", "O", "B-LOC", "L-LOC"]),
    ("We saw John in Paris", ["O", "O", "U-PER", "O", "U-LOC"]),
    ("New York is big", ["B-LOC", "L-LOC", "O", "O"]),
]


pytestmark = pytest.mark.usefixtures("one_blas_thread")


def make_nlp(shared=True, **ner_cfg) -> Language:
    fix_random_seed(0)
    nlp = nlp_core.blank("en")
    model = {"hidden_width": 32, "maxout_pieces": 2}
    if shared:
        nlp.add_pipe("tok2vec", config={"model": TOK2VEC})
        model["tok2vec"] = LISTENER
    else:
        model["tok2vec"] = TOK2VEC
    nlp.add_pipe("ner", config={"model": model, **ner_cfg})
    return nlp


def toy_examples(nlp, data=TOY):
    return [Example.from_dict(nlp.make_doc(text), {"entities": tags}) for text, tags in data]


def train(nlp, examples, n_iter=40):
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.01)
    for _ in range(n_iter):
        nlp.update(examples, sgd=optimizer)
    return nlp


@pytest.mark.parametrize("shared", [True, False])
def test_ner_learns_toy_entities(shared):
    nlp = make_nlp(shared)
    examples = toy_examples(nlp)
    train(nlp, examples)
    scores = nlp.evaluate(examples)
    assert scores["ents_f"] == 1.0
    assert set(scores["ents_per_type"]) == {"LOC", "PER"}
    doc = nlp("John Smith flew to Paris")
    assert [(e.text, e.label_) for e in doc.ents] == [("John Smith", "PER"), ("Paris", "LOC")]
    assert [t.ent_iob_ for t in doc] == ["B", "I", "O", "O", "B"]
    assert nlp.get_pipe("ner").labels == ("LOC", "PER")


def test_seen_classes_exclude_unused_moves():
    nlp = make_nlp()
    examples = toy_examples(nlp)
    nlp.initialize(lambda: examples)
    ner = nlp.get_pipe("ner")
    seen = {name for name, used in zip(ner.move_names, seen_mask(ner.model)) if used}
    assert {"O", "B-LOC", "L-LOC", "U-LOC", "B-PER", "L-PER", "U-PER"} <= seen
    assert "I-LOC" not in seen and "I-PER" not in seen  # no three-token entity


def test_entities_never_cross_sentence_boundaries():
    """Sentence starts set earlier (by a parser, or preset) split an entity the model
    would otherwise predict across them."""
    nlp = make_nlp()
    train(nlp, toy_examples(nlp))
    doc = nlp.make_doc("I flew to New York with Mary")
    assert [e.text for e in nlp(doc.copy()).ents] == ["New York", "Mary"]
    doc.set_column("sent_start", [1, -1, -1, -1, 1, -1, -1])  # "York" starts a sentence
    doc = nlp(doc)
    for ent in doc.ents:
        assert not any(doc.column("sent_start")[ent.start + 1:ent.end] == 1), ent.text


def test_sentence_starts_from_the_parser_constrain_the_ner():
    fix_random_seed(0)
    nlp = nlp_core.blank("en")
    nlp.add_pipe("tok2vec", config={"model": TOK2VEC})
    nlp.add_pipe("parser", config={"min_action_freq": 1,
                                   "model": {"tok2vec": LISTENER, "hidden_width": 32}})
    nlp.add_pipe("ner", config={"model": {"tok2vec": LISTENER, "hidden_width": 32}})
    # Two sentences whose boundary falls inside "Paris Hilton"-like pairs of names: the
    # parser learns the boundary, the ner learns two-token names.
    data = [("We met Anna . Berlin is big", [1, 1, 1, 1, 5, 5, 5],
             ["nsubj", "ROOT", "dobj", "punct", "nsubj", "ROOT", "acomp"],
             ["O", "O", "U-PER", "O", "U-LOC", "O", "O"]),
            ("Anna Berlin is here", [1, 2, 2, 2], ["compound", "nsubj", "ROOT", "advmod"],
             ["B-PER", "L-PER", "O", "O"])]
    examples = [Example.from_dict(nlp.make_doc(text), {"heads": h, "deps": d, "entities": e})
                for text, h, d, e in data]
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.01)
    for _ in range(40):
        nlp.update(examples, sgd=optimizer, annotates=["parser"])
    doc = nlp("We met Anna . Berlin is big")
    starts = doc.column("sent_start")
    assert starts[4] == 1
    for ent in doc.ents:
        assert not (starts[ent.start + 1:ent.end] == 1).any(), ent.text


def test_partial_annotation_costs_nothing_where_missing():
    nlp = make_nlp()
    examples = toy_examples(nlp)
    words = ["Anna", "met", "Bob", "in", "Rome"]
    reference = Doc(nlp.vocab, words=words, ents=["B-PER", "", "", "", "B-LOC"])
    partial = Example(Doc(nlp.vocab, words=words), reference)
    train(nlp, examples + [partial], n_iter=30)
    assert nlp.evaluate(examples)["ents_f"] == 1.0


def test_incorrect_spans_push_down_known_wrong_entities():
    nlp = make_nlp(incorrect_spans_key="wrong")
    examples = toy_examples(nlp)
    nlp.initialize(lambda: examples)
    ner = nlp.get_pipe("ner")
    words = ["Paris", "is", "big"]
    reference = Doc(nlp.vocab, words=words, ents=["", "", ""])
    reference.spans["wrong"] = [Span(reference, 0, 1, label="LOC")]
    eg = Example(Doc(nlp.vocab, words=words), reference)
    golds, _ = ner._golds([eg], [eg.predicted])
    from nlp_core.parser_internals import GreedyBatch

    batch = GreedyBatch(ner.moves, [3])
    plain = batch.costs(golds)
    adjusted = ner._costs_source([eg], golds)(batch)
    assert plain[0, ner.moves.class_of("U-LOC")] == 0
    assert adjusted[0, ner.moves.class_of("U-LOC")] == 1
    assert adjusted[0, ner.moves.class_of("U-PER")] == 0
    nlp.update([eg] + examples, sgd=Adam(0.001))


def test_beam_and_save_load(tmp_path):
    nlp = make_nlp()
    examples = toy_examples(nlp)
    train(nlp, examples)
    nlp.to_disk(tmp_path / "ner")
    loaded = nlp_core.load(tmp_path / "ner")
    text = "Mary flew to New York"
    assert [(e.text, e.label_) for e in loaded(text).ents] == \
        [(e.text, e.label_) for e in nlp(text).ents]
    loaded.get_pipe("ner").cfg["beam_width"] = 4
    assert loaded.evaluate(examples)["ents_f"] == 1.0
    weights = Language.get_factory_meta("ner").default_score_weights
    assert weights["ents_f"] == 1.0


@pytest.mark.parametrize("filename", ["shared_tok2vec_ner.cfg", "independent_tok2vec_ner.cfg"])
def test_seed_configs_train_with_the_cli(filename, tmp_path):
    """The seed's NER configs, filled by `init fill-config`, train on a UNER sample."""
    path = SEED_CONFIGS / filename
    assert path.exists(), f"seed config {path} is missing: the tests need ../shared beside the repo"
    runner = CliRunner()
    filled = tmp_path / "filled.cfg"
    result = runner.invoke(app, ["init", "fill-config", str(path), str(filled)])
    assert result.exit_code == 0, result.output
    config = load_config_from_str(filled.read_text())
    assert config["components"]["ner"]["model"]["state_type"] == "ner"
    prefix = "components.ner.model.tok2vec" if "independent" in filename \
        else "components.tok2vec.model"
    result = runner.invoke(app, [
        "train", str(filled), "--output", str(tmp_path / "out"), "--paths.train", str(UNER),
        "--paths.dev", str(UNER), "--training.max_steps", "4",
        "--training.eval_frequency", "2", f"--{prefix}.encode.width", "32",
        f"--{prefix}.embed.width", "32"]
        + (["--components.ner.model.tok2vec.width", "32"] if "shared" in filename else []))
    assert result.exit_code == 0, result.output
    assert "ENTS_F" in result.output
    nlp = nlp_core.load(tmp_path / "out" / "model-last")
    assert nlp.get_pipe("ner").labels
    doc = nlp("Barack Obama visited Berlin .")
    assert numpy.isin([t.ent_iob_ for t in doc], ["B", "I", "O"]).all()
