"""How much a pipeline's words/s depends on how its input is batched (issue 20, item 3):
the ceiling on what any batching scheme can gain on a corpus.

    OPENBLAS_NUM_THREADS=1 nice -n 5 python benchmarks/batch_sensitivity.py \\
        [--model en_ewt_sm] [--short-docs 4000] [--pieces 120] [--rounds 3] \\
        [--steps-vs-whole]

Two kinds of input, from the `# text = ` sentences of UD English EWT train drawn at random
(seeded), as in mixed_lengths.py:

    short   documents of 1-5 sentences (the 95% of the mixed corpus), given to
            `nlp.pipe(texts, batch_size=B)` for each B of --short-batches
    pieces  5,000-character pieces (pieces.PIECE_CHARS: what the annotate job cuts a long
            document into) made of paragraphs of 3-8 sentences, given to `nlp.pipe` in
            calls of G pieces for each G of --piece-groups (the job gives the pieces of one
            long document together, up to pieces.GROUP_CHARS = 20 pieces)

Each setting runs --rounds times in turn with the others, in this one process after a
warm-up; the best round counts, in words per CPU second of the process (steadier than wall
time on a shared machine), with the system share of that CPU time (page faults, mostly).
Each kind's spread (fastest / slowest setting) bounds what batching alone can change for
that kind of text; the job's two batchings only choose among such settings, and both give
long documents' pieces to the pipeline the same way.

With --steps-vs-whole each setting also runs with the window encoder's blocks predicting
the whole batch at once (`nlp_core.ml.windows.STEP_ABOVE_BYTES` raised past any batch: what
the library did before its blocks predicted batches of more than 32 MiB of token windows a
few MiB at a time), in turn with the default, and the report adds steps / whole per setting
and the token values (tag, dep, head, entity) on which the two modes' annotations differ,
from the first round.
"""
import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EWT, conllu_texts, sentence_run  # noqa: E402


def short_docs(sentences, n: int, rng: random.Random):
    return [sentence_run(rng, sentences, 1, 5) for _ in range(n)]


def pieces(sentences, n: int, rng: random.Random, piece_chars: int):
    result = []
    for _ in range(n):
        paragraphs, size = [], 0
        while True:
            paragraph = sentence_run(rng, sentences, 3, 8)
            if paragraphs and size + len(paragraph) + 2 > piece_chars:
                break
            paragraphs.append(paragraph)
            size += len(paragraph) + 2
        result.append("\n\n".join(paragraphs))
    return result


def words_per_cpu_second(nlp, texts, group: int, keep=None) -> Tuple[float, float]:
    """Words per CPU second of `nlp.pipe` over `texts` in calls of `group`, and the system
    share of that CPU time (page faults, mostly); the docs are appended to `keep` when
    given."""
    start, start_sys = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
    words = 0
    for i in range(0, len(texts), group):
        for doc in nlp.pipe(texts[i:i + group], batch_size=group):
            words += len(doc)
            if keep is not None:
                keep.append(doc)
    cpu = time.process_time() - start
    return words / cpu, (resource.getrusage(resource.RUSAGE_SELF).ru_stime - start_sys) / cpu


def token_values(docs) -> list:
    """Each token's (tag, dep, head, entity IOB, entity type), docs concatenated."""
    return [(t.tag_, t.dep_, t.head.i, t.ent_iob_, t.ent_type_) for doc in docs for t in doc]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="en_ewt_sm")
    parser.add_argument("--short-docs", type=int, default=4000)
    parser.add_argument("--short-batches", default="16,64,256,1024")
    parser.add_argument("--pieces", type=int, default=120)
    parser.add_argument("--piece-groups", default="1,4,20,60")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps-vs-whole", action="store_true",
                        help="also run each setting with the window encoder predicting "
                             "whole batches, and compare")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args(argv)
    import nlp_core
    from beam_jobs.pieces import PIECE_CHARS
    from nlp_core.ml import windows

    rng = random.Random(options.seed)
    sentences = conllu_texts(EWT / "en_ewt-ud-train.conllu")
    inputs = {"short": short_docs(sentences, options.short_docs, rng),
              "pieces": pieces(sentences, options.pieces, rng, PIECE_CHARS)}
    settings = {"short": [int(b) for b in options.short_batches.split(",")],
                "pieces": [int(g) for g in options.piece_groups.split(",")]}
    nlp = nlp_core.load(options.model)
    modes = {"steps": windows.STEP_ABOVE_BYTES}
    if options.steps_vs_whole:
        modes["whole"] = 1 << 62
    for kind, texts in inputs.items():  # warm-up
        words_per_cpu_second(nlp, texts[:len(texts) // 8], settings[kind][-1])
    best = {(mode, kind, size): 0.0 for mode in modes for kind, sizes in settings.items()
            for size in sizes}
    values, system = {}, {}
    for round_ in range(options.rounds):
        for kind, sizes in settings.items():
            for size in sizes:
                for mode, step_above in modes.items():
                    windows.STEP_ABOVE_BYTES = step_above
                    docs = [] if round_ == 0 and len(modes) > 1 else None
                    rate, sys_share = words_per_cpu_second(nlp, inputs[kind], size, keep=docs)
                    if rate > best[mode, kind, size]:
                        best[mode, kind, size] = rate
                        system[mode, kind, size] = sys_share
                    if docs is not None:
                        values[mode, kind, size] = token_values(docs)
    windows.STEP_ABOVE_BYTES = modes["steps"]
    result = {"model": options.model, "rounds": options.rounds}
    for kind, sizes in settings.items():
        label = "batch_size" if kind == "short" else "pieces per call"
        result[kind] = {}
        for mode in modes:
            rates = {size: best[mode, kind, size] for size in sizes}
            spread = max(rates.values()) / min(rates.values())
            print(f"{kind} ({mode}): " + ", ".join(
                f"{label} {size}: {rate:,.0f} words/CPU s ({system[mode, kind, size]:.0%} "
                "system)" for size, rate in rates.items())
                + f"; fastest / slowest {spread:.3f}")
            result[kind][mode] = {
                "words_per_cpu_second": {str(k): round(v) for k, v in rates.items()},
                "system_share": {str(k): round(system[mode, kind, k], 3) for k in sizes},
                "spread": round(spread, 3)}
        if "whole" in modes:
            comparison = {}
            for size in sizes:
                steps, whole = values["steps", kind, size], values["whole", kind, size]
                differing = sum(a != b for a, b in zip(steps, whole)) + abs(len(steps)
                                                                           - len(whole))
                comparison[str(size)] = {
                    "steps_over_whole": round(best["steps", kind, size]
                                              / best["whole", kind, size], 3),
                    "differing_tokens": differing, "tokens": len(steps)}
            print(f"{kind}: steps / whole " + ", ".join(
                f"{label} {size}: {c['steps_over_whole']:.3f} ({c['differing_tokens']} of "
                f"{c['tokens']:,} tokens' annotations differ)" for size, c in comparison.items()))
            result[kind]["steps_vs_whole"] = comparison
    if options.json:
        options.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
