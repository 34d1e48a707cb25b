"""`[training] rehearse_corpus` and fine-tuning a trained pipeline (`training.resume`): a
tiny tok2vec + tagger + parser pipeline trained here on 60 EWT sentences is fine-tuned on a
new tag: the 20 dev sentences with their determiners tagged NEWTAG and no other tag (as a
user who annotates only the new tag gives them: nothing tells the tagger to keep the old
tags), with and without rehearsal on the train sentences' raw text; rehearsal must keep
more of the old pipeline's tags there, and the new tag must be learned either way."""
import io

import numpy
import pytest
import srsly
from confection import Config

from nlp_core.cli.train import load_training_config
from nlp_core.config import fill_config, get_default_config, load_config_from_str
from nlp_core.formats.conllu import read_conllu_sentences
from nlp_core.registry import registry
from nlp_core.tokens import Doc, DocBin
from nlp_core.training.loop import init_nlp, train
from nlp_core.training.resume import resume_config, resume_nlp
from nlp_core.vocab import Vocab
from tests.tiny_pipelines import DEV, TRAIN, pipeline_config

NEW_TAG = "NEWTAG"

PIPELINE = f'\n[paths]\ntrain = "{TRAIN}"\ndev = "{DEV}"\n' + pipeline_config(
    width=32, depth=2, maxout_pieces=3, parser=True, max_steps=40, eval_frequency=20,
    batch_words=400, training="patience = 0\ndropout = 0.0")


INFOS = []


@registry.loggers("test_rehearse.collect.v1")
def make_collector():
    """The console table, plus every evaluation step's info kept in INFOS."""
    console = registry.loggers.get("nlp_core.ConsoleLogger.v1")()

    def setup(nlp, stdout=None, stderr=None):
        log_step, finalize = console(nlp, stdout, stderr)

        def log(info):
            if info is not None:
                INFOS.append({**info, "losses": dict(info["losses"])})
            log_step(info)

        return log, finalize

    return setup


def quiet_train(nlp):
    out = io.StringIO()
    train(nlp, None, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The trained pipeline to fine-tune (its outputs need not be good, only fixed)."""
    path = tmp_path_factory.mktemp("base") / "config.cfg"
    path.write_text(PIPELINE)
    nlp = init_nlp(load_training_config(str(path), {}))
    quiet_train(nlp)
    return nlp


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """(fine-tuning corpus: the dev sentences, determiners tagged NEWTAG, other tags
    missing; raw text JSONL of the train sentences)."""
    tmp = tmp_path_factory.mktemp("data")
    docbin = DocBin()
    vocab = Vocab()
    for sent in read_conllu_sentences(DEV):
        tags = [NEW_TAG if tag == "DT" else None for tag in sent.tags]
        docbin.add(Doc(vocab, sent.words, sent.spaces, tags=tags))
    new_domain = tmp / "new_tag.spacy"
    docbin.to_disk(new_domain)
    raw = tmp / "raw.jsonl"
    raw.write_text("\n".join(srsly.json_dumps({"text": s.text})
                             for s in read_conllu_sentences(TRAIN)) + "\n", encoding="utf8")
    return new_domain, raw


def finetune_config(base, new_domain, raw, *, rehearse: bool, **training):
    text = f"""
[paths]
train = "{new_domain}"
dev = "{DEV}"
raw_text = "{raw}"

[corpora]

[corpora.raw]
@readers = "nlp_core.JsonlCorpus.v1"
path = ${{paths.raw_text}}

[training]
max_steps = 24
eval_frequency = 12
frozen_components = ["parser"]
rehearse_corpus = {'"corpora.raw"' if rehearse else "null"}

[training.logger]
@loggers = "test_rehearse.collect.v1"
"""
    overrides = {f"training.{key}": value for key, value in training.items()}
    config = get_default_config().merge(resume_config(base, load_config_from_str(text)))
    config = load_config_from_str(config.to_str(interpolate=False), overrides)
    return fill_config(config)


def tags_kept(base, nlp, texts):
    """The share of tokens of `texts` on which `nlp` gives `base`'s XPOS tag."""
    old = [tok.tag_ for doc in base.pipe(texts) for tok in doc]
    new = [tok.tag_ for doc in nlp.pipe(texts) for tok in doc]
    return float(numpy.mean([a == b for a, b in zip(old, new)]))


def test_default_config_has_rehearse_corpus_null():
    assert get_default_config()["training"]["rehearse_corpus"] is None
    config = fill_config(Config().from_str(PIPELINE))
    assert config["training"]["rehearse_corpus"] is None


def test_rehearsal_keeps_the_old_outputs_and_logs_its_losses(base, data):
    new_domain, raw = data
    texts = [s.text for s in read_conllu_sentences(TRAIN)]
    determiners = [(s.text, [tag == "DT" for tag in s.tags]) for s in read_conllu_sentences(DEV)]
    kept, learned = {}, {}
    for rehearse in (False, True):
        nlp = resume_nlp(finetune_config(base, new_domain, raw, rehearse=rehearse), base)
        # the new tag was added to the unfrozen tagger, the old ones kept
        assert NEW_TAG in nlp.get_pipe("tagger").labels
        assert set(base.get_pipe("tagger").labels) < set(nlp.get_pipe("tagger").labels)
        INFOS.clear()
        output = quiet_train(nlp)
        kept[rehearse] = tags_kept(base, nlp, texts)
        learned[rehearse] = numpy.mean([tok.tag_ == NEW_TAG for (text, is_dt) in determiners
                                        for tok, dt in zip(nlp(text), is_dt) if dt])
        assert [info["step"] for info in INFOS] == [0, 12, 24]
        last = INFOS[-1]["losses"]
        assert last["tagger"] > 0
        if rehearse:
            assert "Rehearsing on corpora.raw" in output
            assert "LOSS REHEARSE_TAGGER" in output and "LOSS REHEARSE_PARSER" in output
            assert last["rehearse_tagger"] > 0
            # the frozen parser rehearses too (its gradient reaches the shared tok2vec)
            assert last["rehearse_parser"] > 0
        else:
            assert "REHEARSE" not in output
            assert not any(key.startswith("rehearse_") for key in last)
    # without rehearsal the tagger learns that (nearly) every token is NEWTAG
    assert kept[False] < 0.5, kept
    assert kept[True] > kept[False] + 0.3, kept
    assert learned[False] > 0.5 and learned[True] > 0.5, learned


def test_rehearse_steps_run_once_per_step_on_raw_batches(base, data, monkeypatch):
    new_domain, raw = data
    nlp = resume_nlp(finetune_config(base, new_domain, raw, rehearse=True, max_steps=3), base)
    calls = []
    rehearse = nlp.rehearse

    def spy(examples, **kwargs):
        calls.append((len(examples), kwargs))
        return rehearse(examples, **kwargs)

    monkeypatch.setattr(nlp, "rehearse", spy)
    quiet_train(nlp)
    assert len(calls) == 4  # steps 0..3
    for n, kwargs in calls:
        assert n > 0
        # one optimizer step per batch for the fine-tuning and rehearsal gradients together;
        # the frozen parser rehearses with its weights fixed
        assert kwargs["sgd"] is False and kwargs["frozen"] == ["parser"]
        assert kwargs["exclude"] == []


def test_frozen_component_weights_stay_while_rehearsing(base, data):
    new_domain, raw = data
    nlp = resume_nlp(finetune_config(base, new_domain, raw, rehearse=True, max_steps=3), base)
    before = [p.copy() for p in _params(nlp.get_pipe("parser").model)]
    quiet_train(nlp)
    after = _params(nlp.get_pipe("parser").model)
    assert before and all(numpy.array_equal(a, b) for a, b in zip(before, after))


def test_frozen_embedding_only_runs_while_the_heads_rehearse(base, data):
    new_domain, raw = data
    nlp = resume_nlp(finetune_config(base, new_domain, raw, rehearse=True, max_steps=3,
                                     eval_frequency=3,
                                     frozen_components=["tok2vec", "parser"]), base)
    before = [p.copy() for p in _params(nlp.get_pipe("tok2vec").model)]
    INFOS.clear()
    quiet_train(nlp)
    assert INFOS[-1]["step"] == 3 and INFOS[-1]["losses"]["rehearse_tagger"] > 1e-6
    after = _params(nlp.get_pipe("tok2vec").model)
    assert before and all(numpy.array_equal(a, b) for a, b in zip(before, after))


def _params(model):
    return [node.get_param(name) for node in model.walk() for name in node.param_names
            if node.has_param(name)]


def test_fresh_pipeline_cannot_rehearse(tmp_path, data):
    _, raw = data
    path = tmp_path / "config.cfg"
    path.write_text(PIPELINE + f'\n[corpora]\n\n[corpora.raw]\n'
                    f'@readers = "nlp_core.JsonlCorpus.v1"\npath = "{raw}"\n')
    nlp = init_nlp(load_training_config(str(path), {"training.rehearse_corpus": "corpora.raw",
                                                    "training.max_steps": 1}))
    with pytest.raises(ValueError, match="E610"):
        quiet_train(nlp)


def test_trained_pipeline_can_rehearse_in_a_second_train(base, data):
    """After `train`, the same object holds trained weights: a second `train` with
    rehearse_corpus is fine-tuning, not the fresh case."""
    new_domain, raw = data
    nlp = resume_nlp(finetune_config(base, new_domain, raw, rehearse=False, max_steps=1), base)
    quiet_train(nlp)
    assert "Rehearsing" in quiet_train(
        resume_nlp(finetune_config(nlp, new_domain, raw, rehearse=True, max_steps=1), nlp))


def test_everything_frozen_is_an_error(base, data):
    new_domain, raw = data
    config = finetune_config(base, new_domain, raw, rehearse=True,
                             frozen_components=["tok2vec", "tagger", "parser"])
    nlp = resume_nlp(config, base)
    with pytest.raises(ValueError, match="E612"):
        quiet_train(nlp)


def test_changing_the_components_of_a_resumed_pipeline_is_an_error(base, data):
    new_domain, raw = data
    config = finetune_config(base, new_domain, raw, rehearse=True)
    config["components"]["parser"]["model"]["hidden_width"] = 8
    with pytest.raises(ValueError, match="E611") as err:
        resume_nlp(config, base)
    assert "components.parser.model.hidden_width" in str(err.value)


def test_missing_rehearse_corpus_names_the_key(base, data):
    new_domain, raw = data
    config = finetune_config(base, new_domain, raw, rehearse=False)
    config["training"]["rehearse_corpus"] = "corpora.nothing"
    nlp = resume_nlp(config, base)
    with pytest.raises(ValueError, match="E409") as err:
        quiet_train(nlp)
    assert "[training] rehearse_corpus = 'corpora.nothing'" in str(err.value)
