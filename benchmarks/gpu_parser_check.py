"""GPU checks of the CNN pipelines: the shipped en_ewt_sm annotating on the GPU, and parser
training steps/s there with update_with_oracle_cut_size 100 vs 0.

    python benchmarks/gpu_parser_check.py annotate     # one step per call (see gpu_run.sh)
    python benchmarks/gpu_parser_check.py train
    python benchmarks/gpu_parser_check.py cli_train

Each step prints JSON lines ({"step": ..., ...}) and appends them to $OUT/gpu_parser.jsonl.

annotate: EWT test, its sentences joined into documents of 10 (as `convert -n 10` writes
    them), annotated by en_ewt_sm with beam_jobs' SharedPipeline (what the annotate job's
    DoFn uses) on the CPU (NumpyOps) and on GPU 0 (`--gpu`); every token's tag, UPOS, head
    and dep and every doc's entities must agree (the same model; only float rounding
    differs). Words/s of each (best of 3, the GPU synchronised before the timer reads);
    the GPU with the parse threads a GPU worker takes (the cores but one, at most 8) and
    with one (`annotate_gpu_one_parse_thread`, same parses); then the same on GPU with
    the parser's and NER's step loop in array ops
    (`c_forward = False`: one device round trip per transition) on the first documents.
train: `benchmarks/workloads/parser_train_speed` on the GPU (thinc's require_gpu): whole
    updates and parser-only updates with cut 100 and cut 0, same batches; once with the
    parser's step loop in C on host copies (the default), once in array ops. With
    --cpu-baseline the same workload runs on the CPU afterwards, same machine.

cli_train: `nlp_core train --gpu-id 0` of a tagger+parser config (init config) on EWT dev
    (documents of 10 sentences), scored on EWT test, and of an NER config on UNER dev,
    scored on UNER test, 100 steps each; then `nlp_core evaluate` of each model-best on
    the CPU (weights saved from the GPU load without it).

beam_gpu: the README's first command (`python -m beam_jobs.annotate` over examples/, with
    en_ewt_sm) on the CPU and with `--gpu`; both must reconcile and write identical
    annotation rows.

Without CUDA/cupy each step reports why and exits 0 (run it on the device machine);
--dry-run runs the GPU parts on the CPU instead, to check the script itself.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from common import EWT, conllu_texts  # noqa: E402

OUT = Path(os.environ.get("OUT", "/tmp/gpu_check"))
SENTS_PER_DOC = 10


def report(step: str, **fields) -> None:
    line = json.dumps({"step": step, **fields})
    print(line, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "gpu_parser.jsonl", "a", encoding="utf8") as file_:
        file_.write(line + "\n")


DRY_RUN = False
GPU_ID = 0


def have_gpu() -> str:
    """'' when cupy sees a CUDA device, else why not."""
    if DRY_RUN:
        return ""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device"
    except Exception as err:  # no cupy, no driver
        return f"{type(err).__name__}: {err}"
    return ""


def sync() -> None:
    if DRY_RUN:
        return
    import cupy

    cupy.cuda.get_current_stream().synchronize()


def annotations(docs):
    out = []
    for doc in docs:
        out.append(([t.tag_ for t in doc], [t.pos_ for t in doc], [t.head.i for t in doc],
                    [t.dep_ for t in doc],
                    [(e.start_char, e.end_char, e.label_) for e in doc.ents]))
    return out


def agreement(want, got) -> dict:
    names = ("tag", "pos", "head", "dep")
    same = dict.fromkeys(names, 0)
    tokens = ents_same = 0
    for a, b in zip(want, got):
        tokens += len(a[0])
        for k, name in enumerate(names):
            same[name] += sum(x == y for x, y in zip(a[k], b[k]))
        ents_same += a[4] == b[4]
    result = {f"{name}_agree": round(same[name] / max(tokens, 1), 6) for name in names}
    result["docs_same_ents"] = round(ents_same / max(len(want), 1), 6)
    return result


def timed_annotate(shared, texts, batch, passes, on_gpu):
    best, docs = float("inf"), None
    for _ in range(passes):
        if on_gpu:
            sync()
        start = time.perf_counter()
        docs, failures = [], []
        for i in range(0, len(texts), batch):
            got, failed = shared.annotate(texts[i:i + batch])
            docs.extend(got)
            failures.extend(failed)
        if on_gpu:
            sync()
        best = min(best, time.perf_counter() - start)
        if failures:
            return best, docs, failures
    return best, docs, []


def annotate(options) -> None:
    from beam_jobs.model import SharedPipeline
    from nlp_core.ml.parse_threads import parse_threads, set_parse_threads

    sents = conllu_texts(EWT / "en_ewt-ud-test.conllu")
    texts = [" ".join(sents[i:i + SENTS_PER_DOC]) for i in range(0, len(sents), SENTS_PER_DOC)]
    cpu = SharedPipeline("en_ewt_sm", gpu_id=-1)
    cpu_s, cpu_docs, failures = timed_annotate(cpu, texts, 64, 3, False)
    words = sum(len(d) for d in cpu_docs)
    want = annotations(cpu_docs)
    report("annotate_cpu", docs=len(texts), words=words, failures=len(failures),
           seconds=round(cpu_s, 3), words_per_s=round(words / cpu_s))
    why = have_gpu()
    if why:
        report("annotate_gpu", ok=None, skipped=why)
        return
    gpu = SharedPipeline("en_ewt_sm", gpu_id=GPU_ID)
    ops = type(gpu.nlp.get_pipe("parser").model.ops).__name__
    gpu_s, gpu_docs, failures = timed_annotate(gpu, texts, 64, 3, True)
    agree = agreement(want, annotations(gpu_docs))
    ok = not failures and min(agree.values()) >= 0.99
    report("annotate_gpu", ok=ok, ops=ops, failures=len(failures),
           first_failure=failures[0][1] if failures else None, seconds=round(gpu_s, 3),
           words_per_s=round(words / gpu_s), gpu_over_cpu=round(cpu_s / gpu_s, 3),
           parse_threads=parse_threads(), **agree)
    threads = parse_threads()  # the GPU worker's default: the cores but one
    set_parse_threads(1)
    one_s, one_docs, failures = timed_annotate(gpu, texts, 64, 3, True)
    set_parse_threads(threads)
    report("annotate_gpu_one_parse_thread", failures=len(failures), seconds=round(one_s, 3),
           words_per_s=round(words / one_s), default_threads_over_one=round(one_s / gpu_s, 3),
           same_as_default=annotations(one_docs) == annotations(gpu_docs))
    n = options.array_ops_docs
    n_words = sum(len(d) for d in cpu_docs[:n])
    set_step_loop(gpu.nlp, False)  # the array-ops loop, then the C loop on the same docs
    slow_s, slow_docs, failures = timed_annotate(gpu, texts[:n], 64, 1, True)
    set_step_loop(gpu.nlp, True)
    fast_s, _, _ = timed_annotate(gpu, texts[:n], 64, 3, True)
    report("annotate_gpu_array_ops_loop", docs=n, words=n_words, failures=len(failures),
           seconds=round(slow_s, 3), words_per_s=round(n_words / slow_s),
           host_c_loop_seconds_same_docs=round(fast_s, 3),
           host_c_loop_over_array_ops=round(slow_s / fast_s, 2),
           **agreement(want[:n], annotations(slow_docs)))


def set_step_loop(nlp, c_forward: bool) -> None:
    """The parser's and NER's step loop: C (on host copies on GPU) or array ops."""
    for name in ("parser", "ner"):
        nlp.get_pipe(name).model.attrs["c_forward"] = c_forward


def train(options) -> None:
    os.environ.setdefault("NLP_CORE_BENCH_STEPS", str(options.steps))
    from thinc.api import NumpyOps, require_gpu, set_current_ops
    from workloads import parser_train_speed

    why = have_gpu()
    if why:
        report("train_gpu", ok=None, skipped=why)
    else:
        for c_forward in (True, False):
            if not DRY_RUN:
                require_gpu(0)
            start = time.perf_counter()
            result = parser_train_speed.ours(options, c_forward=c_forward, sync=sync)
            report("train_gpu", c_forward=c_forward, steps_per_s_cut100=round(result["value"], 3),
                   wall_s=round(time.perf_counter() - start, 1), **result["details"])
            set_current_ops(NumpyOps())
    if options.cpu_baseline:
        set_current_ops(NumpyOps())
        result = parser_train_speed.ours(options)
        report("train_cpu", steps_per_s_cut100=round(result["value"], 3), **result["details"])


def _cli(args, timeout=300):
    import subprocess

    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nlp_core", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode, round(time.perf_counter() - start, 1), lines


def cli_train(options) -> None:
    import tempfile

    why = have_gpu()
    gpu_id = -1 if DRY_RUN else 0
    if why:
        report("cli_train", ok=None, skipped=why)
        return
    work = Path(tempfile.mkdtemp(prefix="gpu_cli_"))
    uner = EWT.parent / "uner_english_ewt"
    runs = {"tagger_parser": ("tagger,parser", EWT / "en_ewt-ud-dev.conllu",
                              EWT / "en_ewt-ud-test.conllu"),
            "ner": ("ner", uner / "en_ewt-ud-dev.iob2", uner / "en_ewt-ud-test.iob2")}
    for name, (pipeline, train_path, dev_path) in runs.items():
        corpus = work / name
        for path in (train_path, dev_path):
            rc, _, lines = _cli(["convert", path, corpus / path.stem, "-n", 10])
            if rc:
                report("cli_train", name=name, ok=False, failed="convert", output=lines[-5:])
                return
        train_file = corpus / train_path.stem / f"{train_path.stem}.spacy"
        dev_file = corpus / dev_path.stem / f"{dev_path.stem}.spacy"
        config = work / f"{name}.cfg"
        _cli(["init", "config", config, "-p", pipeline])
        rc, seconds, lines = _cli(["train", config, "--gpu-id", gpu_id, "-o", work / name / "out",
                                   "--paths.train", train_file, "--paths.dev", dev_file,
                                   "--training.max_steps", options.cli_steps,
                                   "--training.eval_frequency", options.cli_steps // 2])
        if rc:
            report("cli_train", name=name, ok=False, failed="train", seconds=seconds,
                   output=lines[-12:])
            continue
        rc_eval, eval_s, eval_lines = _cli(["evaluate", work / name / "out" / "model-best",
                                            dev_file])
        keys = ("TOK ", "TAG", "POS", "UAS", "LAS", "SENT", "NER P", "NER R", "NER F",
                "SPEED")
        report("cli_train", name=name, ok=rc_eval == 0, train_seconds=seconds,
               train_tail=lines[-4:], evaluate_on_cpu=[line for line in eval_lines
                                                       if line.startswith(keys)])


def beam_gpu(options) -> None:
    import subprocess
    import tempfile

    import pyarrow.parquet as pq

    why = have_gpu()
    if why:
        report("beam_gpu", ok=None, skipped=why)
        return
    work = Path(tempfile.mkdtemp(prefix="gpu_beam_"))
    tables, results = {}, {}
    for name, extra in (("cpu", []), ("gpu", [] if DRY_RUN else ["--gpu"])):
        out = work / name
        command = [sys.executable, "-m", "beam_jobs.annotate", "--input",
                   "examples/ewt_sample.jsonl", "--output", str(out), "--model", "en_ewt_sm",
                   "--max-chars", "5000", "--keep-text", "--overwrite", *extra]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=240,
                              cwd=HERE.parent)
        lines = (done.stdout + done.stderr).strip().splitlines()
        results[name] = {"rc": done.returncode, "seconds": round(time.perf_counter() - start, 1),
                         "tail": [line for line in lines if "apitools" not in line][-7:]}
        if done.returncode == 0:
            table = pq.read_table(out / "annotations")
            tables[name] = table.sort_by("doc_id")
    same = len(tables) == 2 and tables["cpu"].equals(tables["gpu"])
    columns = {}
    if len(tables) == 2 and not same:
        columns = {c: tables["cpu"].column(c).equals(tables["gpu"].column(c))
                   for c in tables["cpu"].column_names if c in tables["gpu"].column_names}
    report("beam_gpu", ok=same and all(r["rc"] == 0 for r in results.values()),
           identical_rows=same, rows=tables["cpu"].num_rows if "cpu" in tables else None,
           column_equal=columns or None, **results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["annotate", "train", "cli_train", "beam_gpu"])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per setting")
    parser.add_argument("--array-ops-docs", type=int, default=20,
                        help="documents annotated with the array-ops step loop on GPU")
    parser.add_argument("--cpu-baseline", action="store_true",
                        help="train: also measure the workload on the CPU")
    parser.add_argument("--cli-steps", type=int, default=100,
                        help="cli_train: training steps per pipeline")
    parser.add_argument("--dry-run", action="store_true",
                        help="run the GPU parts on the CPU (checks the script, no GPU)")
    options = parser.parse_args()
    global DRY_RUN, GPU_ID
    DRY_RUN, GPU_ID = options.dry_run, -1 if options.dry_run else 0
    {"annotate": annotate, "train": train, "cli_train": cli_train,
     "beam_gpu": beam_gpu}[options.step](options)


if __name__ == "__main__":
    main()
