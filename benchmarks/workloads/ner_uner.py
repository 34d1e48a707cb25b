"""NER accuracy on Universal NER English EWT with the same data and step budget on both
sides: train on UNER dev minus its last HELDOUT sentences, select the best checkpoint on
those held-out sentences, report entity F on UNER test (raw text: each library's tokenizer,
entities aligned by character offsets).

Pipelines: the efficiency config of each library's `init config -p ner` (shared tok2vec:
MultiHashEmbed width 96, rows 5000/1000/2500/2500; MaxoutWindowEncoder depth 4; ner
listening, hidden_width 64, maxout_pieces 2, update_with_oracle_cut_size 100), default
optimizer and batcher, STEPS steps (no early stop), evaluation every EVAL_EVERY steps.
Both train through their own CLI (`python -m nlp_core train` / `python -m spacy train`) in
a subprocess and evaluate `model-best` with their own `evaluate` command.

Data: the nlp_core side writes documents of 10 sentences as .spacy files (train, held-out,
test) to $TMPDIR/nlp_core_benchmarks/uner/; the spaCy side reads the same files, so run
the two sides in one `run.py` call (ours first).

Transfer (optional): with NLP_CORE_BENCH_NER_SOURCE (our trained EWT tok2vec + tagger +
parser pipeline) and NLP_CORE_BENCH_SPACY_NER_SOURCE (spaCy's, trained on the same EWT
files with the same step budget), each side starts its tok2vec from that pipeline's
tok2vec weights (`[initialize] init_tok2vec`, the hook `pretrain` output uses) and
fine-tunes it on the UNER slice; the NER itself still learns only from UNER dev. Both
pipelines must have the efficiency widths.

Environment knobs: NLP_CORE_BENCH_NER_STEPS (default 2000), NLP_CORE_BENCH_NER_EVAL (200),
NLP_CORE_BENCH_NER_HELDOUT (300 sentences), NLP_CORE_BENCH_NER_AVERAGES=1 (parameter
averaging on both sides).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import SHARED_DATA

UNER = SHARED_DATA / "uner_english_ewt"
STEPS = int(os.environ.get("NLP_CORE_BENCH_NER_STEPS", 2000))
EVAL_EVERY = int(os.environ.get("NLP_CORE_BENCH_NER_EVAL", 200))
HELDOUT = int(os.environ.get("NLP_CORE_BENCH_NER_HELDOUT", 300))
AVERAGES = os.environ.get("NLP_CORE_BENCH_NER_AVERAGES", "") not in ("", "0")
SOURCE = os.environ.get("NLP_CORE_BENCH_NER_SOURCE")
SPACY_SOURCE = os.environ.get("NLP_CORE_BENCH_SPACY_NER_SOURCE")
WORK = Path(tempfile.gettempdir()) / "nlp_core_benchmarks" / "uner"
N_SENTS = 10


def _overrides(config_path: Path, output: Path, init_tok2vec=None):
    extra = [] if init_tok2vec is None else ["--paths.init_tok2vec", str(init_tok2vec)]
    if AVERAGES:
        extra += ["--training.optimizer.use_averages", "true"]
    return [str(config_path), "--output", str(output),
            "--paths.train", str(WORK / "train.spacy"), "--paths.dev", str(WORK / "heldout.spacy"),
            "--training.max_steps", str(STEPS), "--training.eval_frequency", str(EVAL_EVERY),
            "--training.patience", "0", "--system.seed", "0", *extra]


def _export_tok2vec(nlp, target: Path) -> Path:
    """The tok2vec component's weights as thinc bytes, the format init_tok2vec loads."""
    target.write_bytes(nlp.get_pipe("tok2vec").model.to_bytes())
    return target


def _run(command, log: Path) -> float:
    start = time.perf_counter()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    with open(log, "w", encoding="utf8") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed; see {log}")
    return time.perf_counter() - start


def _result(scores: dict, train_seconds: float, log: Path, source) -> dict:
    # spaCy's `evaluate --output` names them ner_p / ner_r / ner_f
    p, r, f = (scores.get(f"ents_{k}", scores.get(f"ner_{k}")) for k in "prf")
    return {"metric": "UNER test ents_f (%)", "value": 100 * f, "higher_is_better": True,
            "details": {"ents_p": round(p, 4), "ents_r": round(r, 4),
                        "per_type": {k: round(v["f"], 4)
                                     for k, v in (scores.get("ents_per_type") or {}).items()},
                        "steps": STEPS, "heldout_sents": HELDOUT,
                        "tok2vec_from": source,
                        "train_seconds": round(train_seconds), "log": str(log)}}


def _write_data() -> None:
    from nlp_core.formats.iob import read_iob
    from nlp_core.tokens import Doc, DocBin
    from nlp_core.vocab import Vocab

    vocab = Vocab(lang="en")
    WORK.mkdir(parents=True, exist_ok=True)
    dev = list(read_iob(UNER / "en_ewt-ud-dev.iob2", vocab=vocab))
    test = list(read_iob(UNER / "en_ewt-ud-test.iob2", vocab=vocab))
    splits = {"train": dev[:-HELDOUT], "heldout": dev[-HELDOUT:], "test": test}
    for name, sents in splits.items():
        docbin = DocBin()
        for start in range(0, len(sents), N_SENTS):
            docbin.add(Doc.from_docs(sents[start:start + N_SENTS]))
        docbin.to_disk(WORK / f"{name}.spacy")


def ours(options) -> dict:
    from nlp_core.cli.init_config import make_training_config

    _write_data()
    out = WORK / ("nlp_core" + ("_transfer" if SOURCE else "") + ("_avg" if AVERAGES else ""))
    out.mkdir(parents=True, exist_ok=True)
    config = make_training_config("en", ["ner"], optimize="efficiency", gpu=False)
    (out / "config.cfg").write_text(config.to_str(), encoding="utf8")
    init_tok2vec = None
    if SOURCE:
        import nlp_core

        init_tok2vec = _export_tok2vec(nlp_core.load(SOURCE), out / "tok2vec.bin")
    seconds = _run([sys.executable, "-m", "nlp_core", "train",
                    *_overrides(out / "config.cfg", out, init_tok2vec)], out / "train.log")
    _run([sys.executable, "-m", "nlp_core", "evaluate", str(out / "model-best"),
          str(WORK / "test.spacy"), "--output", str(out / "test.json")], out / "eval.log")
    return _result(json.loads((out / "test.json").read_text()), seconds, out / "train.log",
                   SOURCE)


def spacy(options) -> dict:
    out = WORK / ("spacy" + ("_transfer" if SPACY_SOURCE else "") + ("_avg" if AVERAGES else ""))
    out.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "spacy", "init", "config", str(out / "config.cfg"), "-p", "ner",
          "-F"], out / "init.log")
    init_tok2vec = None
    if SPACY_SOURCE:
        import spacy as spacy_lib

        init_tok2vec = _export_tok2vec(spacy_lib.load(SPACY_SOURCE), out / "tok2vec.bin")
        # spaCy reads init_tok2vec's target from a complete [pretraining] block
        # (component "tok2vec", layer "" by default)
        _run([sys.executable, "-m", "spacy", "init", "fill-config", str(out / "config.cfg"),
              str(out / "config.cfg"), "--pretraining"], out / "fill.log")
    seconds = _run([sys.executable, "-m", "spacy", "train",
                    *_overrides(out / "config.cfg", out, init_tok2vec)], out / "train.log")
    _run([sys.executable, "-m", "spacy", "evaluate", str(out / "model-best"),
          str(WORK / "test.spacy"), "--output", str(out / "test.json")], out / "eval.log")
    result = _result(json.loads((out / "test.json").read_text()), seconds, out / "train.log",
                     SPACY_SOURCE)
    import spacy as spacy_lib

    result["details"]["spacy_version"] = spacy_lib.__version__
    return result
