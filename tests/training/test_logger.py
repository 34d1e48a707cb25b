import io

import nlp_core
from nlp_core.registry import registry
from nlp_core.training.logger import console_logger


class Trainable:
    is_trainable = True

    def __call__(self, doc):
        return doc


def pipeline():
    nlp = nlp_core.blank("en")
    nlp._components.append(("tagger", Trainable()))
    nlp._pipe_configs["tagger"] = {"factory": "tagger"}
    nlp._config["training"]["score_weights"] = {"tag_acc": 1.0, "pos_acc": None}
    nlp._config["training"]["eval_frequency"] = 3
    return nlp


def info(step, score):
    return {"epoch": 0, "step": step, "losses": {"tagger": 12.345}, "score": score,
            "other_scores": {"tag_acc": score, "pos_acc": 0.5}, "wps": 1234.4}


def test_table_has_losses_weighted_scores_score_and_speed():
    stdout, stderr = io.StringIO(), io.StringIO()
    log_step, finalize = console_logger(progress_bar=False)(pipeline(), stdout, stderr)
    log_step(info(0, 0.25))
    log_step(None)
    log_step(info(3, 0.5))
    finalize()
    lines = stdout.getvalue().splitlines()
    assert lines[0].split() == ["E", "#", "LOSS", "TAGGER", "TAG_ACC", "SCORE", "WORDS/S"]
    assert lines[2].split() == ["0", "0", "12.35", "25.00", "0.25", "1234"]
    assert lines[3].split() == ["0", "3", "12.35", "50.00", "0.50", "1234"]
    assert stderr.getvalue() == ""


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_goes_to_stderr_between_evaluations():
    # tqdm draws only on a terminal: a log file gets the table alone
    stdout, stderr = io.StringIO(), Terminal()
    log_step, finalize = console_logger(progress_bar=True)(pipeline(), stdout, stderr)
    log_step(info(0, 0.25))
    log_step(None)
    log_step(None)
    log_step(info(3, 0.5))
    finalize()
    assert "Epoch 1" in stderr.getvalue()
    assert "Epoch" not in stdout.getvalue()


def test_registered_under_both_names():
    for name in ("nlp_core.ConsoleLogger.v1", "spacy.ConsoleLogger.v1"):
        assert registry.loggers.get(name) is console_logger
