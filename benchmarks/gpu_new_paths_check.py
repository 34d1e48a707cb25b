"""GPU check of the code paths added after gpu_run.sh's checks, none of which has run on a
GPU yet: the static vectors table on cupy, `pretrain --gpu-id 0` and `distill --gpu-id 0`
(tagger, parser and NER distilled on cupy arrays). Under 4 minutes on a GPU machine.

    python benchmarks/gpu_new_paths_check.py                 # all steps
    python benchmarks/gpu_new_paths_check.py --steps vectors distill
    python benchmarks/gpu_new_paths_check.py --dry-run       # the CPU only, even with a GPU
    GPU_STEPS=new_paths bash benchmarks/gpu_run.sh           # on a bare device machine

Each step prints one JSON line {"step", "ok", "dry_run", "seconds", "figures", "error"}
(also appended to $OUT/gpu_new_paths.jsonl); an exception fails its step only.

vectors              a random 50,000 x 64 table moved to the GPU with `to_ops(CupyOps())`:
                     most_similar of 1,000 queries (n=10, batch_size 256; n=1, one batch,
                     where only the winners leave the device; queries as numpy and as cupy)
                     vs the same table on the CPU: same rows (a swap of two neighbours
                     whose scores differ by < 1e-5 counts as a tie), scores within 1e-5;
                     get_batch (5,000 keys, 10% unknown), vectors[key] and find (key, keys
                     as numpy and as cupy, rows) equal to the CPU's.
pretrain_characters  `python -m nlp_core pretrain CONFIG OUT --gpu-id 0 --max-steps 20` of an
pretrain_vectors     `init config` tagger+parser (width 32) + a [pretraining] block (the
                     characters objective; the vectors objective over a random table of the
                     corpus' words), 60 EWT sentences: every loss finite, model-last.bin
                     written and loaded by `[initialize] init_tok2vec` (init_nlp) on the
                     CPU, the tok2vec then holding the checkpoint's weights; characters
                     also resumes from model-last.bin on the GPU for 5 more steps.
distill              a tagger+parser+NER teacher (tests/cli/test_distill.py's pipeline plus
                     NER; its entities: the PROPN runs of the EWT fixture) trained 12 steps
                     on the CPU, then `python -m nlp_core distill ... --gpu-id 0` of a fresh
                     student (init fill-config --distillation), 6 steps: losses finite,
                     model-last loads on the CPU and tags, parses and finds entities with
                     the teacher's labels.

Without CUDA/cupy (or with --dry-run) every step runs the same on the CPU and says
"dry_run": true: a check of the script, not of the GPU.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
FIXTURES = REPO / "tests" / "fixtures" / "training"
TRAIN = FIXTURES / "ewt-train-60.conllu"
DEV = FIXTURES / "ewt-dev-20.conllu"
OUT = Path(os.environ.get("OUT", "/tmp/gpu_check"))
DRY_RUN = True
STEP_TIMEOUT = 90  # seconds, each `python -m nlp_core` subprocess (a GPU run takes ~10-30)

# tests/cli/test_distill.py's pipeline with an NER component added
PIPELINE = """
[nlp]
lang = "en"
pipeline = ["tok2vec", "tagger", "parser", "ner"]

[components]

[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "spacy.Tok2Vec.v2"

[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = ${components.tok2vec.model.encode.width}
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [500, 100, 200, 200]
include_static_vectors = false

[components.tok2vec.model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = WIDTH
depth = 2
window_size = 1
maxout_pieces = 3

[components.tagger]
factory = "tagger"

[components.tagger.model]
@architectures = "spacy.Tagger.v2"

[components.tagger.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = ${components.tok2vec.model.encode.width}

[components.parser]
factory = "parser"
min_action_freq = 1

[components.parser.model]
@architectures = "spacy.TransitionBasedParser.v3"
state_type = "parser"
hidden_width = 16
maxout_pieces = 2

[components.parser.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = ${components.tok2vec.model.encode.width}

[components.ner]
factory = "ner"

[components.ner.model]
@architectures = "spacy.TransitionBasedParser.v3"
state_type = "ner"
hidden_width = 16
maxout_pieces = 2

[components.ner.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = ${components.tok2vec.model.encode.width}

[training]
max_steps = 12
eval_frequency = 6

[training.batcher]
@batchers = "spacy.batch_by_words.v1"
size = 300
"""

PRETRAINING = """
[pretraining]
component = "tok2vec"
layer = ""

[pretraining.objective]
@architectures = "{objective}"
maxout_pieces = 2
hidden_size = 64
{extra}
"""


def report(step, ok, seconds, figures=None, error=None):
    line = json.dumps({"step": step, "ok": ok, "dry_run": DRY_RUN, "seconds": round(seconds, 2),
                       "figures": figures or {}, "error": error}, default=str)
    print(line, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "gpu_new_paths.jsonl", "a", encoding="utf8") as file_:
        file_.write(line + "\n")


def gpu_problem():
    """'' when cupy sees a CUDA device, else why not."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device"
    except Exception as err:  # no cupy, no driver
        return f"{type(err).__name__}: {err}"
    return ""


def host(array):
    return array.get() if hasattr(array, "get") else numpy.asarray(array)


def gpu_flag():
    return [] if DRY_RUN else ["--gpu-id", "0"]


def cli(*args):
    """An `nlp_core` command in this process (CPU: config files, the teacher)."""
    from typer.testing import CliRunner

    from nlp_core.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exit_code != 0:
        raise RuntimeError(f"nlp_core {args[0]} exited {result.exit_code}: "
                           f"{result.output[-1500:]}{result.exception!r}")
    return result.output


def nlp_core_process(*args):
    """`python -m nlp_core ARGS` in a new process (where --gpu-id 0 goes)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, "-m", "nlp_core", *[str(a) for a in args]],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=STEP_TIMEOUT)
    with open(OUT / "gpu_new_paths_logs.txt", "a", encoding="utf8") as file_:
        file_.write(f"$ nlp_core {' '.join(str(a) for a in args)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        raise RuntimeError(f"nlp_core {args[0]} exited {proc.returncode}: "
                           f"{(proc.stdout + proc.stderr)[-2000:]}")
    return proc.stdout


def texts():
    prefix = "# text = "
    return [line[len(prefix):].strip() for line in TRAIN.read_text(encoding="utf8").splitlines()
            if line.startswith(prefix)]


# --- vectors --------------------------------------------------------------------------


def check_vectors(tmp):
    from thinc.api import NumpyOps

    from nlp_core.vectors import Vectors

    rng = numpy.random.default_rng(0)
    rows, width = 50_000, 64
    table = rng.standard_normal((rows, width), dtype=numpy.float32)
    keys = (numpy.arange(rows, dtype=numpy.uint64) + 1) * numpy.uint64(7919)
    cpu = Vectors(data=table, keys=keys)
    device = Vectors(data=table.copy(), keys=keys)
    if DRY_RUN:
        ops, xp = NumpyOps(), numpy
    else:
        import cupy
        from thinc.api import CupyOps

        ops, xp = CupyOps(), cupy
    device.to_ops(ops)
    figures = {"table": [rows, width], "device_array": type(device.data).__module__}
    queries = numpy.concatenate([
        table[rng.integers(0, rows, 500)] + 0.3 * rng.standard_normal((500, width),
                                                                         dtype=numpy.float32),
        rng.standard_normal((500, width), dtype=numpy.float32)]).astype(numpy.float32)
    problems = []

    def compare(name, want, got):
        (_, want_rows, want_scores), (_, got_rows, got_scores) = want, got
        differ = want_rows != got_rows
        # a swap of two neighbours with (near) equal scores is a tie, not an error
        ties = bool(numpy.all(numpy.abs(want_scores[differ] - got_scores[differ]) < 1e-5))
        max_diff = float(numpy.abs(want_scores - got_scores).max())
        figures[name] = {"rows_differ": int(differ.sum()), "differences_are_ties": ties,
                         "max_score_diff": max_diff}
        if (differ.any() and not ties) or max_diff >= 1e-5:
            problems.append(name)

    for n, batch_size in ((10, 256), (1, 1000)):
        start = time.perf_counter()
        want = cpu.most_similar(queries, n=n, batch_size=batch_size)
        cpu_s = time.perf_counter() - start
        device.most_similar(queries[:8], n=n, batch_size=batch_size)  # warm-up (kernels)
        start = time.perf_counter()
        got = device.most_similar(queries, n=n, batch_size=batch_size)
        dev_s = time.perf_counter() - start
        if not all(isinstance(a, numpy.ndarray) for a in got):
            problems.append(f"most_similar n={n} returned {[type(a) for a in got]}")
        compare(f"most_similar_n{n}", want, got)
        figures[f"most_similar_n{n}"].update(cpu_s=round(cpu_s, 3), device_s=round(dev_s, 3))
        if n == 1 and not numpy.array_equal(want[0], got[0]) \
                and not figures["most_similar_n1"]["differences_are_ties"]:
            problems.append("keys of n=1")
    compare("most_similar_device_queries", cpu.most_similar(queries, n=5, batch_size=300),
            device.most_similar(xp.asarray(queries), n=5, batch_size=300))

    pick = rng.integers(0, rows, 5000)
    batch_keys = keys[pick].copy()
    unknown = rng.random(5000) < 0.1
    batch_keys[unknown] = numpy.uint64(3)  # no key is 3 (all are multiples of 7919)
    want = cpu.get_batch(batch_keys)
    got = device.get_batch(batch_keys)
    figures["get_batch"] = {"on_device": type(got).__module__.split(".")[0],
                            "equal": bool(numpy.array_equal(want, host(got))),
                            "unknown_rows_zero": bool((host(got)[unknown] == 0).all())}
    if not (figures["get_batch"]["equal"] and figures["get_batch"]["unknown_rows_zero"]):
        problems.append("get_batch")
    short = list(batch_keys[:10])  # the small-batch (dict) path too
    if not numpy.array_equal(cpu.get_batch(short), host(device.get_batch(short))):
        problems.append("get_batch of 10 keys")
    if not numpy.array_equal(cpu[int(keys[42])], host(device[int(keys[42])])):
        problems.append("vectors[key]")
    find = {
        "key": cpu.find(key=int(keys[7])) == device.find(key=int(keys[7])) == 7,
        "keys_numpy": numpy.array_equal(cpu.find(keys=batch_keys),
                                        device.find(keys=batch_keys)),
        "keys_device_array": numpy.array_equal(cpu.find(keys=batch_keys),
                                               host(device.find(keys=xp.asarray(batch_keys)))),
        "rows": numpy.array_equal(cpu.find(rows=pick[:100]), device.find(rows=pick[:100])),
    }
    figures["find"] = {k: bool(v) for k, v in find.items()}
    problems += [f"find {k}" for k, v in find.items() if not v]
    vector = rng.standard_normal(width, dtype=numpy.float32)
    for table_ in (cpu, device):  # a write on the device, then a resize (xp.zeros there)
        table_[int(keys[9])] = vector
        table_.resize((rows + 10, width))
        table_.add(5, vector=vector * 2)
    writes = numpy.array_equal(cpu.get_batch(numpy.asarray([keys[9], 5], dtype=numpy.uint64)),
                               host(device.get_batch(numpy.asarray([keys[9], 5],
                                                                   dtype=numpy.uint64))))
    figures["set_resize_add_equal"] = bool(writes)
    if not writes:
        problems.append("vectors[key] = ..., resize, add")
    settings = dict(mode="floret", minn=3, maxn=5, hash_count=2, hash_seed=7)
    floret_table = rng.standard_normal((2000, 16), dtype=numpy.float32)
    floret_cpu = Vectors(data=floret_table, **settings)
    floret_device = Vectors(data=floret_table.copy(), **settings)
    floret_device.to_ops(ops)
    words = ["cat", "catalogue", "", "GPU", "New", "York", "x"] * 20
    diff = float(numpy.abs(floret_cpu.get_batch(words)
                           - host(floret_device.get_batch(words))).max())
    figures["floret_get_batch_max_diff"] = diff
    if diff > 1e-6:
        problems.append("floret get_batch")
    return not problems, figures, ("; ".join(problems) or None)


# --- pretrain ---------------------------------------------------------------------------


def pretrain_config(tmp, objective):
    base = tmp / "base.cfg"
    if not base.exists():
        cli("init", "config", base, "--pipeline", "tagger,parser", "--force")
    text = base.read_text(encoding="utf8").replace("width = 96", "width = 32")
    extra = 'loss = "cosine"' if objective == "vectors" else "n_characters = 4"
    name = {"vectors": "spacy.PretrainVectors.v1",
            "characters": "spacy.PretrainCharacters.v1"}[objective]
    partial = tmp / f"partial_{objective}.cfg"
    partial.write_text(text + PRETRAINING.format(objective=name, extra=extra), encoding="utf8")
    filled = tmp / f"pretrain_{objective}.cfg"
    cli("init", "fill-config", partial, filled, "--pretraining")
    return filled


def raw_text(tmp):
    path = tmp / "raw_text.jsonl"
    if not path.exists():
        path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts()),
                        encoding="utf8")
    return path


def vectors_dir(tmp):
    """A random 48-wide table over the words of the corpus (and their lower case)."""
    import nlp_core
    from nlp_core.strings import StringStore
    from nlp_core.vectors import Vectors

    path = tmp / "vectors"
    if not path.exists():
        nlp = nlp_core.blank("en")
        words = sorted({w for t in texts() for tok in nlp.make_doc(t)
                        for w in (tok.text, tok.text.lower())})
        table = numpy.random.default_rng(1).standard_normal((len(words), 48),
                                                            dtype=numpy.float32)
        Vectors(strings=StringStore(words), data=table, keys=words).to_disk(path)
    return path


def check_pretrain(tmp, objective):
    from nlp_core.cli.train import load_training_config
    from nlp_core.training.loop import init_nlp
    from nlp_core.training.pretrain_checkpoint import read_checkpoint

    config = pretrain_config(tmp, objective)
    out = tmp / f"pretrain_{objective}_out"
    extra = ["--paths.vectors", vectors_dir(tmp)] if objective == "vectors" else []
    start = time.perf_counter()
    nlp_core_process("pretrain", config, out, "--paths.raw_text", raw_text(tmp), "--max-steps",
                     20, "--pretraining.batcher.size", 150, *extra, *gpu_flag())
    run_s = time.perf_counter() - start
    losses = [json.loads(line)["loss"] for line in
              (out / "log.jsonl").read_text(encoding="utf8").splitlines()]
    checkpoint = out / "model-last.bin"
    saved = read_checkpoint(checkpoint)
    resumed = {}
    if objective == "characters":  # the optimizer state back onto the device, 5 more steps
        again = tmp / "pretrain_resumed"
        nlp_core_process("pretrain", config, again, "--paths.raw_text", raw_text(tmp),
                         "--max-steps", 25, "--pretraining.batcher.size", 150,
                         "--resume-path", checkpoint, *gpu_flag())
        more = [json.loads(line) for line in
                (again / "log.jsonl").read_text(encoding="utf8").splitlines()]
        resumed = {"resumed_steps": len(more),
                   "resumed_losses_finite": all(math.isfinite(x["loss"]) for x in more),
                   "resumed_last_step": read_checkpoint(again / "model-last.bin")
                   .provenance.get("step")}
    overrides = {"paths.train": str(TRAIN), "paths.dev": str(DEV),
                 "paths.init_tok2vec": str(checkpoint)}
    if objective == "vectors":
        overrides["paths.vectors"] = str(vectors_dir(tmp))
    nlp = init_nlp(load_training_config(str(config), overrides))  # on the CPU
    info = nlp.meta.get("init_tok2vec", {})
    reloaded = nlp.get_pipe("tok2vec").model.to_bytes()
    doc = nlp("The cat sat on the mat.")
    figures = {"pretrain_s": round(run_s, 2), "log_lines": len(losses),
               "first_loss": losses[0] if losses else None,
               "last_loss": losses[-1] if losses else None,
               "all_finite": all(math.isfinite(x) for x in losses),
               "checkpoint_step": saved.provenance.get("step"),
               "checkpoint_epoch": saved.provenance.get("epoch"),
               "has_resume_state": saved.resume is not None,
               "init_tok2vec_weights": info.get("weights"),
               "tok2vec_bytes_equal_checkpoint": reloaded == saved.weights,
               "cpu_annotates": len(doc) == 7 and all(t.tag_ for t in doc), **resumed}
    ok = bool(losses) and figures["all_finite"] and bool(info.get("weights")) \
        and figures["cpu_annotates"] and resumed.get("resumed_losses_finite", True) \
        and resumed.get("resumed_steps", 1) > 0
    return ok, figures, None if ok else "see figures"


# --- distill ----------------------------------------------------------------------------


def with_entities(src, dst):
    """The CoNLL-U file with NE= tags in MISC: each run of PROPN words is a NAME entity."""
    lines, previous = [], None
    for line in src.read_text(encoding="utf8").splitlines():
        cols = line.split("\t")
        if len(cols) != 10 or not cols[0].isdigit():
            previous = None if not line.strip() else previous
            lines.append(line)
            continue
        tag = "O"
        if cols[3] == "PROPN":
            tag = "NE=I-NAME" if previous == "PROPN" else "NE=B-NAME"
        tag = tag if tag != "O" else "NE=O"
        cols[9] = tag if cols[9] == "_" else f"{cols[9]}|{tag}"
        previous = cols[3]
        lines.append("\t".join(cols))
    dst.write_text("\n".join(lines) + "\n", encoding="utf8")
    return dst


def distill_losses(output):
    """The LOSS columns of distill's table: {"LOSS TAGGER": [one value per row], ...}."""
    labels, rows = None, []
    for line in output.splitlines():
        words = line.split()
        if labels is None and "LOSS" in words:
            labels = []  # "LOSS TAGGER" is one column; the loss columns come first
            for word in words:
                if labels and labels[-1] == "LOSS":
                    labels[-1] = f"LOSS {word}"
                else:
                    labels.append(word)
        elif labels and words and words[0].isdigit():
            rows.append(words)
    losses = {label: [float(row[i]) for row in rows]
              for i, label in enumerate(labels or []) if label.startswith("LOSS ")}
    if not losses or not rows:
        raise ValueError(f"no loss table in distill's output: {output[-800:]}")
    return losses


def check_distill(tmp):
    import nlp_core

    train = with_entities(TRAIN, tmp / "train_ne.conllu")
    dev = with_entities(DEV, tmp / "dev_ne.conllu")
    teacher_cfg = tmp / "teacher.cfg"
    teacher_cfg.write_text(PIPELINE.replace("WIDTH", "24"), encoding="utf8")
    start = time.perf_counter()
    cli("train", teacher_cfg, "--output", tmp / "teacher", "--paths.train", train,
        "--paths.dev", dev)
    teacher_s = time.perf_counter() - start
    teacher = tmp / "teacher" / "model-last"
    partial = tmp / "student_partial.cfg"
    partial.write_text(PIPELINE.replace("WIDTH", "16"), encoding="utf8")
    student_cfg = tmp / "student.cfg"
    cli("init", "fill-config", partial, student_cfg, "--distillation")
    out = tmp / "distilled"
    start = time.perf_counter()
    output = nlp_core_process("distill", teacher, student_cfg, out, "--paths.raw_text",
                              raw_text(tmp), "--paths.dev", dev,
                              "--distillation.max_steps", 6, "--distillation.eval_frequency",
                              3, "--distillation.batcher.size", 200, *gpu_flag())
    distill_s = time.perf_counter() - start
    losses = distill_losses(output)
    teacher_nlp = nlp_core.load(teacher)
    student = nlp_core.load(out / "model-last")  # on the CPU
    doc = student("Mary Smith flew from New York to Paris with John on Monday.")
    labels_same = all(set(student.get_pipe(n).labels) == set(teacher_nlp.get_pipe(n).labels)
                      for n in ("tagger", "parser", "ner"))
    finite = all(math.isfinite(v) for values in losses.values() for v in values)
    figures = {"teacher_train_s": round(teacher_s, 2), "distill_s": round(distill_s, 2),
               "losses": losses, "losses_finite": finite, "labels_same": labels_same,
               "student_pipes": student.pipe_names,
               "tags": [t.tag_ for t in doc], "deps": [t.dep_ for t in doc],
               "ents": [(e.text, e.label_) for e in doc.ents],
               "ner_labels": list(student.get_pipe("ner").labels)}
    ok = finite and labels_same and len(losses) == 4 \
        and all(t.tag_ and t.dep_ for t in doc) and "NAME" in figures["ner_labels"]
    return ok, figures, None if ok else "see figures"


STEPS = {"vectors": check_vectors,
         "pretrain_characters": lambda tmp: check_pretrain(tmp, "characters"),
         "pretrain_vectors": lambda tmp: check_pretrain(tmp, "vectors"),
         "distill": check_distill}


def main():
    global DRY_RUN
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", nargs="+", default=list(STEPS), choices=list(STEPS))
    parser.add_argument("--dry-run", action="store_true", help="the CPU even with a GPU")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    problem = "--dry-run" if args.dry_run else gpu_problem()
    DRY_RUN = bool(problem)
    env = {"python": sys.version.split()[0], "numpy": numpy.__version__}
    try:
        import thinc

        import nlp_core.cli  # noqa: F401 (every step needs it: fail once, early, if not there)

        env["thinc"] = thinc.__version__
    except Exception as err:  # a machine without nlp_core's dependencies or extensions
        report("env", False, 0.0, env, f"{type(err).__name__}: {err}")
        return 1
    try:
        import cupy

        env["cupy"] = cupy.__version__
        if not DRY_RUN:
            env["device"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    except Exception as err:  # no cupy: a dry run
        env["cupy"] = f"{type(err).__name__}: {err}"
    if DRY_RUN:
        print(f"DRY RUN ({problem}): every step runs on the CPU; this checks the script, "
              "not the GPU paths", flush=True)
    report("env", True, 0.0, env)
    tmp = Path(tempfile.mkdtemp(prefix="gpu_new_paths_"))
    results = {}
    for name in args.steps:
        start = time.perf_counter()
        try:
            ok, figures, error = STEPS[name](tmp)
        except Exception as err:  # one failing step must not hide the others
            ok, figures = False, {}
            error = f"{type(err).__name__}: {err} | " + \
                " / ".join(traceback.format_exc().strip().splitlines()[-6:])
        results[name] = ok
        report(name, bool(ok), time.perf_counter() - start, figures, error)
    print(json.dumps({"summary_ok": all(results.values()), "dry_run": DRY_RUN,
                      "steps": results, "written": str(OUT / "gpu_new_paths.jsonl")}),
          flush=True)
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
