"""The parser component: learns a toy treebank and EWT sentences to 100% UAS, label growth,
seen classes, min_action_freq, oracle-cut training, beam search, deprojectivized output,
scores, save/load, and `init config` pipelines training through the CLI."""
from pathlib import Path

import numpy
import pytest
import srsly
from thinc.api import Adam, fix_random_seed
from typer.testing import CliRunner

import nlp_core
from nlp_core.cli import app
from nlp_core.formats.conllu import read_conllu_sentences
from nlp_core.language import Language
from nlp_core.ml.parser_model import seen_mask
from nlp_core.parser_internals import is_nonproj_tree
from nlp_core.tokens import Doc, DocBin
from nlp_core.training import Example

FIXTURES = Path(__file__).parents[1] / "fixtures" / "training"
WIDTH = 32
TOK2VEC = {"@architectures": "spacy.Tok2Vec.v2",
           "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": WIDTH,
                     "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                     "rows": [500, 200, 200, 200], "include_static_vectors": False},
           "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": WIDTH,
                      "depth": 2, "window_size": 1, "maxout_pieces": 3}}
LISTENER = {"@architectures": "spacy.Tok2VecListener.v1", "width": WIDTH}
# (text, absolute heads, labels)
TOY = [
    ("I like green eggs", [1, 1, 3, 1], ["nsubj", "ROOT", "amod", "dobj"]),
    ("Eat blue ham", [0, 2, 0], ["ROOT", "amod", "dobj"]),
    ("They eat green ham", [1, 1, 3, 1], ["nsubj", "ROOT", "amod", "dobj"]),
    ("We like eggs", [1, 1, 1], ["nsubj", "ROOT", "dobj"]),
    ("She eats eggs . He likes ham", [1, 1, 1, 1, 5, 5, 5],
     ["nsubj", "ROOT", "dobj", "punct", "nsubj", "ROOT", "dobj"]),
]


pytestmark = pytest.mark.usefixtures("one_blas_thread")


def make_nlp(shared=True, **parser_cfg) -> Language:
    fix_random_seed(0)
    nlp = nlp_core.blank("en")
    model = {"hidden_width": 32, "maxout_pieces": 2}
    if shared:
        nlp.add_pipe("tok2vec", config={"model": TOK2VEC})
        model["tok2vec"] = LISTENER
    else:
        model["tok2vec"] = TOK2VEC
    nlp.add_pipe("parser", config={"min_action_freq": 1, "model": model, **parser_cfg})
    return nlp


def toy_examples(nlp, data=TOY):
    return [Example.from_dict(nlp.make_doc(text), {"heads": heads, "deps": deps})
            for text, heads, deps in data]


def train(nlp, examples, n_iter=60, learn_rate=0.01):
    optimizer = nlp.initialize(lambda: examples)
    optimizer = Adam(learn_rate)
    for _ in range(n_iter):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


@pytest.mark.parametrize("shared", [True, False])
def test_parser_learns_the_toy_treebank(shared):
    nlp = make_nlp(shared)
    examples = toy_examples(nlp)
    train(nlp, examples)
    scores = nlp.evaluate(examples)
    assert scores["dep_uas"] == 1.0 and scores["dep_las"] == 1.0
    assert scores["sents_f"] == 1.0
    doc = nlp("She eats eggs . He likes ham")
    assert [t.head.i for t in doc] == [1, 1, 1, 1, 5, 5, 5]
    assert [t.dep_ for t in doc] == ["nsubj", "ROOT", "dobj", "punct", "nsubj", "ROOT", "dobj"]
    assert [s.text for s in doc.sents] == ["She eats eggs .", "He likes ham"]


def _ewt(n):
    """The n - 1 shortest projective sentences of the EWT fixture and its shortest
    non-projective one."""
    sents = sorted(read_conllu_sentences(FIXTURES / "ewt-train-60.conllu"),
                   key=lambda sent: len(sent.words))
    projective = [sent for sent in sents if not is_nonproj_tree(sent.heads)]
    nonproj = [sent for sent in sents if is_nonproj_tree(sent.heads)]
    return projective[:n - 1] + nonproj[:1]


def test_parser_learns_ewt_sentences_including_a_nonprojective_one():
    """Seven EWT sentences (gold tokens), trained to 100% UAS and LAS: the non-projective
    tree comes back through the decorated labels."""
    nlp = make_nlp(True)
    examples = []
    for sent in _ewt(7):
        doc = Doc(nlp.vocab, words=sent.words, spaces=sent.spaces)
        examples.append(Example.from_dict(doc, {"heads": sent.heads, "deps": sent.deps}))
    train(nlp, examples, n_iter=40)
    scores = nlp.evaluate(examples)
    assert scores["dep_uas"] == 1.0 and scores["dep_las"] == 1.0


def test_deprojectivized_output():
    """A decorated label is undone in set_annotations: the token moves to the head
    labelled as its decoration."""
    nlp = make_nlp(True)
    parser = nlp.get_pipe("parser")
    for label in ("nsubj", "obj", "advmod", "advmod||obj"):
        parser.add_label(label)
    doc = nlp.make_doc("a b c d")
    ids = {label: parser.moves.label_id(label) for label in parser.moves.labels}
    # projective tree: b is root; a <- b (nsubj), c <- b (obj), d <- b (advmod||obj: its
    # gold head is c, lifted to b)
    heads = numpy.asarray([1, 1, 1, 1], dtype=numpy.int32)
    labels = numpy.asarray([ids["nsubj"], ids["ROOT"], ids["obj"], ids["advmod||obj"]],
                           dtype=numpy.int32)
    parser.set_annotations([doc], [(heads, labels)])
    assert [t.head.i for t in doc] == [1, 1, 1, 2]
    assert [t.dep_ for t in doc] == ["nsubj", "ROOT", "obj", "advmod"]
    assert doc[0].is_sent_start and not doc[2].is_sent_start
    assert parser.labels == ("advmod", "nsubj", "obj")


def test_min_action_freq_maps_rare_labels():
    nlp = make_nlp(True, min_action_freq=3)
    examples = toy_examples(nlp)
    nlp.initialize(lambda: examples)
    parser = nlp.get_pipe("parser")
    # nsubj 6, dobj 6, amod 3 occurrences; punct 1 -> "dep"
    assert parser.labels == ("amod", "dep", "dobj", "nsubj")
    assert parser._map_label("punct") == "dep" and parser._map_label("amod||x") == "amod"


def test_seen_classes_come_from_the_oracle_paths():
    nlp = make_nlp(True)
    examples = toy_examples(nlp)
    nlp.initialize(lambda: examples)
    parser = nlp.get_pipe("parser")
    mask = seen_mask(parser.model)
    moves = parser.move_names
    assert mask.shape == (len(moves),)
    seen = {name for name, used in zip(moves, mask) if used}
    # amod and nsubj only ever attach leftwards, dobj and punct rightwards
    assert {"S", "L-amod", "L-nsubj", "R-dobj", "R-punct"} <= seen
    assert not seen & {"R-amod", "R-nsubj", "L-dobj", "L-punct"}


@pytest.mark.parametrize("cut", [0, 1, 5, 100])
def test_oracle_cut_training_steps_run(cut):
    nlp = make_nlp(True, update_with_oracle_cut_size=cut)
    examples = toy_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    losses = {}
    for _ in range(3):
        nlp.update(examples, sgd=optimizer, losses=losses)
    assert losses["parser"] > 0 and numpy.isfinite(losses["parser"])


def test_label_growth_keeps_the_weights():
    nlp = make_nlp(True)
    examples = toy_examples(nlp)
    train(nlp, examples, n_iter=40)
    parser = nlp.get_pipe("parser")
    output = parser.model.get_ref("output")
    old_W = output.get_param("W").copy()
    before = [(t.head.i, t.dep_) for t in nlp("They like green eggs")]
    n = len(parser.move_names)
    assert parser.add_label("xcomp") == 1 and parser.add_label("xcomp") == 0
    new_W = parser.model.get_ref("output").get_param("W")
    assert new_W.shape[0] == n + 2 and numpy.array_equal(new_W[:n], old_W)
    assert [(t.head.i, t.dep_) for t in nlp("They like green eggs")] == before
    nlp.update(examples, sgd=Adam(0.001))  # a fresh node: the optimizer takes new shapes


def test_beam_search_predicts_the_trained_trees():
    nlp = make_nlp(True)
    examples = toy_examples(nlp)
    train(nlp, examples)
    parser = nlp.get_pipe("parser")
    parser.cfg["beam_width"] = 4
    assert nlp.evaluate(examples)["dep_uas"] == 1.0


def test_save_and_load_round_trip(tmp_path):
    nlp = make_nlp(True)
    examples = toy_examples(nlp)
    train(nlp, examples, n_iter=30)
    nlp.to_disk(tmp_path / "model")
    loaded = nlp_core.load(tmp_path / "model")
    text = "She likes green ham . We eat eggs"
    got = [(t.head.i, t.dep_) for t in loaded(text)]
    assert got == [(t.head.i, t.dep_) for t in nlp(text)]
    assert loaded.get_pipe("parser").move_names == nlp.get_pipe("parser").move_names
    assert numpy.array_equal(seen_mask(loaded.get_pipe("parser").model),
                             seen_mask(nlp.get_pipe("parser").model))
    assert loaded.get_pipe("parser").moves.end_phase


def test_a_parser_saved_before_the_end_phase_loads_without_it(tmp_path):
    """A cfg.json without "end_phase" (saved before the arc-eager end phase existed) loads
    the monotonic system the parser was trained with; new parsers have the end phase."""
    nlp = make_nlp(True)
    train(nlp, toy_examples(nlp), n_iter=5)
    parser = nlp.get_pipe("parser")
    assert parser.cfg["end_phase"] is True and parser.moves.end_phase
    nlp.to_disk(tmp_path / "model")
    cfg_path = tmp_path / "model" / "parser" / "cfg.json"
    cfg = srsly.read_json(cfg_path)
    assert cfg["end_phase"] is True
    del cfg["end_phase"]
    srsly.write_json(cfg_path, cfg)
    loaded = nlp_core.load(tmp_path / "model")
    old = loaded.get_pipe("parser")
    assert old.cfg["end_phase"] is False and not old.moves.end_phase
    assert len(loaded("She likes green ham . We eat eggs")) == 8


def test_scores_and_weights():
    nlp = make_nlp(True)
    examples = toy_examples(nlp)
    nlp.initialize(lambda: examples)
    scores = nlp.evaluate(examples)
    for key in ("dep_uas", "dep_las", "dep_las_per_type", "sents_p", "sents_r", "sents_f"):
        assert key in scores
    # punctuation is not scored; labels are compared lower-cased (ROOT == root)
    assert "punct" not in (scores["dep_las_per_type"] or {})
    weights = Language.get_factory_meta("parser").default_score_weights
    assert weights["dep_uas"] == 0.5 and weights["dep_las"] == 0.5


def test_settings_are_checked():
    with pytest.raises(ValueError, match="E386"):
        make_nlp(True, learn_tokens=True)
    with pytest.raises(ValueError, match="E380"):
        make_nlp(True, beam_width=0)
    nlp = make_nlp(True)
    with pytest.raises(ValueError, match="E383"):
        nlp.get_pipe("parser").predict([nlp.make_doc("not initialized")])


def _corpus_with_entities(path: Path):
    """The EWT training fixture as .spacy, with runs of PROPN tokens as NAME entities."""
    from nlp_core.formats.conllu import read_conllu

    out = DocBin()
    for doc in read_conllu(path):
        pos = [t.pos_ for t in doc]
        tags = [("U-NAME" if p == "PROPN" else "O") for p in pos]
        doc.ents = [(doc.vocab.strings.add("NAME"), i, i + 1)
                    for i, t in enumerate(tags) if t == "U-NAME"]
        out.add(doc)
    target = path.parent / f"{path.stem}-ents.spacy"
    return target, out


def test_init_config_tagger_parser_ner_trains_with_the_cli(tmp_path):
    runner = CliRunner()
    config = tmp_path / "config.cfg"
    result = runner.invoke(app, ["init", "config", str(config), "--pipeline",
                                 "tagger,parser,ner"])
    assert result.exit_code == 0, result.output
    paths = {}
    for name in ("ewt-train-60.conllu", "ewt-dev-20.conllu"):
        target, docbin = _corpus_with_entities(FIXTURES / name)
        paths[name] = tmp_path / target.name
        docbin.to_disk(paths[name])
    result = runner.invoke(app, [
        "train", str(config), "--output", str(tmp_path / "out"),
        "--paths.train", str(paths["ewt-train-60.conllu"]),
        "--paths.dev", str(paths["ewt-dev-20.conllu"]),
        "--training.max_steps", "6", "--training.eval_frequency", "3",
        "--components.tok2vec.model.encode.width", "32",
        "--components.parser.model.hidden_width", "32",
        "--components.parser.min_action_freq", "1",
        "--training.batcher.size.start", "300", "--training.batcher.size.stop", "300"])
    assert result.exit_code == 0, result.output
    assert "DEP_UAS" in result.output and "ENTS_F" in result.output
    nlp = nlp_core.load(tmp_path / "out" / "model-last")
    doc = nlp("John Smith lives in Paris. He likes it.")
    assert all(t.dep_ for t in doc) and doc.has_annotation("SENT_START")
