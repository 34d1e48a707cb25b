"""The parser's and NER's C loops on threads (`nlp_core.set_parse_threads`), one process.

    OPENBLAS_NUM_THREADS=1 python benchmarks/parse_threads.py [--model en_ewt_sm]
        [--threads 1,2] [--rounds 5] [--batch-size 64] [--json OUT]

UD English EWT dev as documents of 10 sentences (`# text = ` lines, 2,001 sentences, about
25,000 words), through `nlp.pipe(texts, batch_size=B)` of the whole pipeline after a
warm-up pass; each thread count runs --rounds times, in turn with the others, in this one
process. A batch of 64 such documents is about 8,000 tokens: four parser chunks of 2,048
(`transition_parser.CHUNK_TOKENS`), so up to four loops in flight.

Reported per thread count: the best and median wall seconds and words/s, the ratio of each
to one thread's, and the parses checked equal to one thread's (heads, deps, entities).
Wall time, not CPU time: threads use more CPU to take less time. BLAS stays on one thread
(set OPENBLAS_NUM_THREADS=1 and the like), so the gain is the loops' alone.

On the CPU the loops are about a fifth of the parser's time (its precompute matrix product
is the rest), so overlapping them with the next chunk's precompute bounds the gain. On a
GPU the precompute runs on the device and the loops are what is left on the host: there
the gain is the one that matters (benchmarks/gpu_trf_job.py, runs named ..._tN).
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EWT, conllu_texts  # noqa: E402


def annotations(docs):
    return [(t.head.i, t.dep_, t.ent_iob_, t.ent_type_) for doc in docs for t in doc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="en_ewt_sm")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import nlp_core
    from nlp_core.ml.parse_threads import set_parse_threads

    sentences = conllu_texts(EWT / "en_ewt-ud-dev.conllu")
    texts = [" ".join(sentences[i:i + 10]) for i in range(0, len(sentences), 10)]
    nlp = nlp_core.load(args.model)
    counts = [int(n) for n in args.threads.split(",")]
    reference = None
    seconds = {n: [] for n in counts}
    same = {}
    words = 0
    for round_ in range(args.rounds + 1):  # round 0: the warm-up
        for n in counts:
            set_parse_threads(n)
            started = time.perf_counter()
            docs = list(nlp.pipe(texts, batch_size=args.batch_size))
            took = time.perf_counter() - started
            words = sum(len(doc) for doc in docs)
            if reference is None:
                reference = annotations(docs)
            if round_ == 0:
                same[n] = annotations(docs) == reference
                continue
            seconds[n].append(took)
    set_parse_threads(1)
    base = seconds[counts[0]]
    report = {"model": args.model, "words": words, "docs": len(texts),
              "batch_size": args.batch_size, "rounds": args.rounds, "threads": {}}
    for n in counts:
        best, median = min(seconds[n]), statistics.median(seconds[n])
        report["threads"][n] = {
            "best_s": round(best, 3), "median_s": round(median, 3),
            "words_per_s": round(words / best, 1),
            "speedup_best": round(min(base) / best, 3),
            "speedup_median": round(statistics.median(base) / median, 3),
            "same_parses": same[n], "seconds": [round(s, 3) for s in seconds[n]]}
        print(f"threads {n}: best {best:.3f} s ({words / best:,.0f} words/s), median "
              f"{median:.3f} s; x{min(base) / best:.3f} best, "
              f"x{statistics.median(base) / median:.3f} median; same parses: {same[n]}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
