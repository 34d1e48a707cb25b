"""GPU checks of the CNN pipelines: the shipped en_ewt_sm annotating on the GPU, and parser
training steps/s there with update_with_oracle_cut_size 100 vs 0.

    python benchmarks/gpu_parser_check.py annotate     # one step per call (see gpu_run.sh)
    python benchmarks/gpu_parser_check.py train

Each step prints JSON lines ({"step": ..., ...}) and appends them to $OUT/gpu_parser.jsonl.

annotate: EWT test, its sentences joined into documents of 10 (as `convert -n 10` writes
    them), annotated by en_ewt_sm with beam_jobs' SharedPipeline (what the annotate job's
    DoFn uses) on the CPU (NumpyOps) and on GPU 0 (`--gpu`); every token's tag, UPOS, head
    and dep and every doc's entities must agree (the same model; only float rounding
    differs). Words/s of each (best of 3, the GPU synchronised before the timer reads);
    then the same on GPU with the parser's and NER's step loop in array ops
    (`c_forward = False`: one device round trip per transition) on the first documents.
train: `benchmarks/workloads/parser_train_speed` on the GPU (thinc's require_gpu): whole
    updates and parser-only updates with cut 100 and cut 0, same batches; once with the
    parser's step loop in C on host copies (the default), once in array ops. With
    --cpu-baseline the same workload runs on the CPU afterwards, same machine.

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
           words_per_s=round(words / gpu_s), gpu_over_cpu=round(cpu_s / gpu_s, 3), **agree)
    n = options.array_ops_docs
    for name in ("parser", "ner"):
        gpu.nlp.get_pipe(name).model.attrs["c_forward"] = False
    slow_s, slow_docs, failures = timed_annotate(gpu, texts[:n], 64, 1, True)
    n_words = sum(len(d) for d in cpu_docs[:n])
    host_s, _, _ = timed_annotate_subset(gpu, texts[:n])
    report("annotate_gpu_array_ops_loop", docs=n, words=n_words, failures=len(failures),
           seconds=round(slow_s, 3), words_per_s=round(n_words / slow_s),
           host_c_loop_seconds_same_docs=round(host_s, 3),
           host_c_loop_over_array_ops=round(slow_s / host_s, 2),
           **agreement(want[:n], annotations(slow_docs)))


def timed_annotate_subset(gpu, texts):
    for name in ("parser", "ner"):
        gpu.nlp.get_pipe(name).model.attrs["c_forward"] = True
    return timed_annotate(gpu, texts, 64, 3, True)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["annotate", "train"])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per setting")
    parser.add_argument("--array-ops-docs", type=int, default=20,
                        help="documents annotated with the array-ops step loop on GPU")
    parser.add_argument("--cpu-baseline", action="store_true",
                        help="train: also measure the workload on the CPU")
    parser.add_argument("--dry-run", action="store_true",
                        help="run the GPU parts on the CPU (checks the script, no GPU)")
    options = parser.parse_args()
    global DRY_RUN, GPU_ID
    DRY_RUN, GPU_ID = options.dry_run, -1 if options.dry_run else 0
    {"annotate": annotate, "train": train}[options.step](options)


if __name__ == "__main__":
    main()
