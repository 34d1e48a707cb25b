"""The annotate job on a corpus of mixed lengths: token-count batching (`--batch-tokens`,
the default) against document-count batching, words/s in the same run, and the two
annotations tables compared row for row (issue 20, item 3).

    OPENBLAS_NUM_THREADS=1 nice -n 5 python benchmarks/mixed_lengths.py \\
        [--docs 2000] [--long-fraction 0.05] [--long-kb 50 500] [--model en_ewt_sm] \\
        [--rounds 2] [--batch-tokens 16000] [--batch-size 256] [--with-before] [--keep DIR] \\
        [--workers N]

Corpus (synthetic, from real sentences): the `# text = ` sentences of UD English EWT
train drawn at random (seeded); `1 - long_fraction` of the documents are 1-5 sentences,
the others paragraphs of 3-8 sentences joined by blank lines up to a length drawn
log-uniformly from `--long-kb` (KB of UTF-8), in random order, as JSONL `{"id", "text"}`.

Sides, each a fresh `python -m beam_jobs.annotate` process (model load, duplicate-id
pass, reading, batching, annotating, Parquet all counted), FnApiRunner in memory, one
worker, `--max-chars` above the longest document:

    docs    document-count batching: `--batch-tokens 0 --batch-size N --batch-chars
            1000000000` (pools of 8 batches sorted by length, cut every N documents)
    tokens  `--batch-tokens T --batch-size N` (batching.py; --batch-chars at its default)

    before  (--with-before) the job as it was before issue 20's item 3: `docs`' flags with
            long documents in pieces of 20,000 characters instead of 5,000 (pieces.py);
            its annotations differ near the cuts, reported as shares of token values

run alternately (docs, tokens[, before], docs, ...) for --rounds rounds. Words are the
tokens the job reports (`run_summary.json`); words/s by wall-clock time and by the child
process's CPU time (user + system), the steadier figure on a shared machine, and the
process's peak RSS from the run summary (in memory, the launcher is the worker). The best
round of each side counts; the ratios are tokens / docs. `identical` compares the two
sides' `annotations` tables sorted by doc_id, every column.
"""
import argparse
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EWT, REPO_ROOT, conllu_texts, sentence_run  # noqa: E402


def build_corpus(path: Path, n_docs: int, long_fraction: float, long_kb, seed: int) -> dict:
    """Write the mixed corpus to `path`; returns its shape."""
    rng = random.Random(seed)
    sentences = conllu_texts(EWT / "en_ewt-ud-train.conllu")
    n_long = round(n_docs * long_fraction)
    kinds = ["long"] * n_long + ["short"] * (n_docs - n_long)
    rng.shuffle(kinds)
    low, high = math.log(long_kb[0] * 1000), math.log(long_kb[1] * 1000)
    sizes = {"short": 0, "long": 0}
    with open(path, "w", encoding="utf8") as file_:
        for i, kind in enumerate(kinds):
            if kind == "short":
                text = sentence_run(rng, sentences, 1, 5)
            else:
                target = math.exp(rng.uniform(low, high))
                paragraphs, size = [], 0
                while size < target:
                    paragraph = sentence_run(rng, sentences, 3, 8)
                    paragraphs.append(paragraph)
                    size += len(paragraph.encode("utf8")) + 2
                text = "\n\n".join(paragraphs)
            sizes[kind] += len(text)
            file_.write(json.dumps({"id": f"doc-{i}", "text": text}) + "\n")
    return {"docs": n_docs, "long_docs": n_long, "short_chars": sizes["short"],
            "long_chars": sizes["long"], "bytes": path.stat().st_size}


# The job as it was before issue 20's item 3: long documents in pieces of 20,000
# characters (the in-memory runner runs the pipeline in this process, so setting the
# default of SharedPipeline's piece_chars here reaches it)
BEFORE = ("import sys; from beam_jobs import model; "
          "d = list(model.SharedPipeline.__init__.__defaults__); "
          "assert d[1] == model.PIECE_CHARS, d; d[1] = 20000; "
          "model.SharedPipeline.__init__.__defaults__ = tuple(d); "
          "from beam_jobs.annotate import main; sys.exit(main(sys.argv[1:]))")


def run_job(corpus: Path, output: Path, flags, model: str, max_chars: int,
            workers: int = 1) -> dict:
    """One job run in a child process: wall and CPU seconds (its worker processes
    included), and its run summary. `flags` starting with "before" run the job with the
    earlier 20,000-character pieces; `workers` > 1: that many local worker processes."""
    launcher = ["-m", "beam_jobs.annotate"]
    if flags and flags[0] == "before":
        launcher, flags = ["-c", BEFORE], flags[1:]
    mode = ["--direct_running_mode=in_memory", "--direct_num_workers=1"] if workers <= 1 \
        else ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    argv = [sys.executable, *launcher, "--input", str(corpus),
            "--output", str(output), "--model", model, "--max-chars", str(max_chars),
            "--runner=FnApiRunner", *mode, *flags]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"the job failed ({' '.join(argv)}):\n{done.stderr[-4000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = json.loads((output / "run_summary.json").read_text())
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "summary": summary}


def _plain(type_: pa.DataType) -> pa.DataType:
    """`type_` with dictionary-encoded strings as plain ones: each Parquet file has its own
    dictionary, so equal rows can hold different indices."""
    if pa.types.is_dictionary(type_):
        return _plain(type_.value_type)
    if pa.types.is_list(type_):
        return pa.list_(_plain(type_.value_type))
    if pa.types.is_large_list(type_):
        return pa.large_list(_plain(type_.value_type))
    if pa.types.is_struct(type_):
        return pa.struct([field.with_type(_plain(field.type)) for field in type_])
    return type_


def annotations(output: Path) -> pa.Table:
    """The run's annotations table, dictionaries decoded, sorted by doc_id."""
    files = sorted((output / "annotations").glob("part-*.parquet"))
    if not files:
        raise SystemExit(f"no annotations in {output}")
    table = pa.concat_tables([pq.read_table(f) for f in files])
    table = table.cast(pa.schema([field.with_type(_plain(field.type))
                                  for field in table.schema]))
    return table.sort_by("doc_id")


def batch_shapes(corpus: Path, batch_size: int, batch_tokens: int) -> dict:
    """How each batching cuts the corpus, measured with the English tokenizer's real token
    counts: batches, their mean and largest tokens, and padding (the tokens of a batch
    padded to its longest document, over its tokens; what a transformer pads to), over
    the documents short enough to be annotated whole (pieces.py; the pieces of the others
    go to the pipeline on their own). `input_order`
    is what `nlp.pipe(texts, batch_size=N)` or Beam's BatchElements make: every N documents
    in the order read. The token batcher learns its estimate from the batches as the job
    does."""
    import nlp_core
    from beam_jobs.batching import SortedPoolBatcher, TokenBatcher
    from beam_jobs.pieces import PIECE_CHARS
    from beam_jobs.records import Record

    tokenizer = nlp_core.blank("en").tokenizer
    records, tokens = [], {}
    with open(corpus, encoding="utf8") as file_:
        for i, line in enumerate(file_):
            text = json.loads(line)["text"]
            tokens[i] = len(tokenizer(text))
            records.append(Record(str(i), "c", i, i, None, None, len(text), len(text)))

    def shape(batches) -> dict:
        whole = [[tokens[r.offset] for r in b if r.n_chars <= PIECE_CHARS] for b in batches]
        real = sum(sum(counts) for counts in whole)
        padded = sum(len(counts) * max(counts) for counts in whole if counts)
        sizes = [sum(tokens[r.offset] for r in b) for b in batches]
        return {"batches": len(batches), "mean_tokens": round(sum(sizes) / len(sizes)),
                "max_tokens": max(sizes), "padding": round(padded / real, 3)}

    def run(batcher) -> list:
        batches = []
        for record in records:
            for batch in batcher.add(record):
                batches.append(batch)
                batcher.observe(sum(r.n_chars for r in batch),
                                sum(tokens[r.offset] for r in batch))
        return batches + list(batcher.flush())

    return {"input_order": shape([records[i:i + batch_size]
                                  for i in range(0, len(records), batch_size)]),
            "docs": shape(run(SortedPoolBatcher(batch_size, 10**9))),
            "tokens": shape(run(TokenBatcher(batch_tokens, batch_size, 500_000)))}


def before_report(best: dict, output: Path, now: pa.Table) -> dict:
    """The default job against the job as it was: words/s ratios, the documents whose rows
    differ, and the share of token values and entities that differ (the 20,000- and
    5,000-character pieces are cut at different places)."""
    then = annotations(output)
    differ, changed_docs = {}, set()
    for column in ("tag", "pos", "dep", "head", "sent_start", "ents"):
        n = changed = 0
        for i, (a, b) in enumerate(zip(then.column(column).to_pylist(),
                                       now.column(column).to_pylist())):
            a, b = a or [], b or []
            if column == "ents":  # entity spans: those not in both
                a, b = {json.dumps(e, sort_keys=True) for e in a}, \
                    {json.dumps(e, sort_keys=True) for e in b}
                n += len(a | b)
                changed += len(a ^ b)
            else:
                n += len(a)
                changed += sum(x != y for x, y in zip(a, b))
            if a != b:
                changed_docs.add(i)
        differ[column] = round(changed / max(n, 1), 5)
    return {"ratio_cpu": round(best["tokens"]["cpu"] / best["before"]["cpu"], 3),
            "ratio_wall": round(best["tokens"]["wall"] / best["before"]["wall"], 3),
            "docs_differing": len(changed_docs), "share_differing": differ}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--long-fraction", type=float, default=0.05)
    parser.add_argument("--long-kb", type=float, nargs=2, default=(50, 500))
    parser.add_argument("--model", default="en_ewt_sm")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--batch-tokens", type=int, default=16_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1,
                        help="Local worker processes of each job (multi_processing when "
                             "above 1; not with --with-before, which patches the "
                             "in-memory runner's process).")
    parser.add_argument("--keep", help="Keep the corpus and outputs in this directory.")
    parser.add_argument("--with-before", action="store_true",
                        help="Also run the job as it was before (document-count batching, "
                             "20,000-character pieces) and compare its annotations.")
    parser.add_argument("--shapes-only", action="store_true",
                        help="Only build the corpus and report the batch shapes.")
    args = parser.parse_args(argv)
    if args.workers > 1 and args.with_before:
        parser.error("--with-before runs the in-memory runner: not with --workers")
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mixed_lengths_"))
    root.mkdir(parents=True, exist_ok=True)
    corpus = root / "corpus.jsonl"
    shape = build_corpus(corpus, args.docs, args.long_fraction, args.long_kb, args.seed)
    max_chars = int(args.long_kb[1] * 1000) + 100_000
    sides = {
        "docs": ["--batch-tokens", "0", "--batch-size", str(args.batch_size),
                 "--batch-chars", "1000000000"],
        "tokens": ["--batch-tokens", str(args.batch_tokens), "--batch-size",
                   str(args.batch_size)],
    }
    shapes = batch_shapes(corpus, args.batch_size, args.batch_tokens)
    print(f"batch shapes: {json.dumps(shapes)}", file=sys.stderr, flush=True)
    if args.shapes_only:
        return {"corpus": shape, "batch_shapes": shapes}
    if args.with_before:
        sides["before"] = ["before", *sides["docs"]]
    runs = {name: [] for name in sides}
    for round_ in range(args.rounds):
        for name, flags in sides.items():
            output = root / f"out-{name}"
            if output.exists():
                shutil.rmtree(output)
            result = run_job(corpus, output, flags, args.model, max_chars, args.workers)
            tokens = result["summary"]["counts"]["tokens"] if "counts" in result["summary"] \
                else result["summary"]["tokens"]
            peaks = result["summary"].get("peak_rss_mb", {})
            result.update(words=tokens, words_per_wall_s=round(tokens / result["wall_s"]),
                          words_per_cpu_s=round(tokens / result["cpu_s"]),
                          peak_rss_mb=max([peaks.get("launcher", 0)]
                                          + list(peaks.get("workers", {}).values())))
            del result["summary"]
            runs[name].append(result)
            print(f"round {round_ + 1} {name}: {json.dumps(result)}", file=sys.stderr,
                  flush=True)
    best = {name: {"wall": max(r["words_per_wall_s"] for r in rs),
                   "cpu": max(r["words_per_cpu_s"] for r in rs)} for name, rs in runs.items()}
    by_tokens = annotations(root / "out-tokens")
    identical = annotations(root / "out-docs").equals(by_tokens)
    report = {"corpus": shape, "model": args.model, "workers": args.workers, "sides": sides,
              "batch_shapes": shapes,
              "runs": runs,
              "best_words_per_s": best,
              "ratio_wall": round(best["tokens"]["wall"] / best["docs"]["wall"], 3),
              "ratio_cpu": round(best["tokens"]["cpu"] / best["docs"]["cpu"], 3),
              "identical_annotations": identical,
              **({"before": before_report(best, root / "out-before", by_tokens)}
                 if args.with_before else {}),
              "load_average": os.getloadavg()}
    print(json.dumps(report, indent=1))
    if not args.keep:
        shutil.rmtree(root)
    return report


if __name__ == "__main__":
    main()
