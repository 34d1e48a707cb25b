"""How much a pipeline's words/s depends on how its input is batched (issue 20, item 3):
the ceiling on what any batching scheme can gain on a corpus.

    OPENBLAS_NUM_THREADS=1 nice -n 5 python benchmarks/batch_sensitivity.py \\
        [--model en_ewt_sm] [--short-docs 4000] [--pieces 120] [--rounds 3]

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
time on a shared machine). Each kind's spread (fastest / slowest setting) bounds what
batching alone can change for that kind of text; the job's two batchings only choose
among such settings, and both give long documents' pieces to the pipeline the same way.
"""
import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EWT, conllu_texts  # noqa: E402


def short_docs(sentences, n: int, rng: random.Random):
    return [" ".join(rng.choice(sentences) for _ in range(rng.randint(1, 5)))
            for _ in range(n)]


def pieces(sentences, n: int, rng: random.Random, piece_chars: int):
    result = []
    for _ in range(n):
        paragraphs, size = [], 0
        while True:
            paragraph = " ".join(rng.choice(sentences) for _ in range(rng.randint(3, 8)))
            if paragraphs and size + len(paragraph) + 2 > piece_chars:
                break
            paragraphs.append(paragraph)
            size += len(paragraph) + 2
        result.append("\n\n".join(paragraphs))
    return result


def words_per_cpu_second(nlp, texts, group: int) -> float:
    start = time.process_time()
    words = 0
    for i in range(0, len(texts), group):
        words += sum(len(doc) for doc in nlp.pipe(texts[i:i + group], batch_size=group))
    return words / (time.process_time() - start)


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
    parser.add_argument("--json", type=Path)
    options = parser.parse_args(argv)
    import nlp_core
    from beam_jobs.pieces import PIECE_CHARS

    rng = random.Random(options.seed)
    sentences = conllu_texts(EWT / "en_ewt-ud-train.conllu")
    inputs = {"short": short_docs(sentences, options.short_docs, rng),
              "pieces": pieces(sentences, options.pieces, rng, PIECE_CHARS)}
    settings = {"short": [int(b) for b in options.short_batches.split(",")],
                "pieces": [int(g) for g in options.piece_groups.split(",")]}
    nlp = nlp_core.load(options.model)
    for kind, texts in inputs.items():  # warm-up
        words_per_cpu_second(nlp, texts[:len(texts) // 8], settings[kind][-1])
    best = {kind: {size: 0.0 for size in sizes} for kind, sizes in settings.items()}
    for _ in range(options.rounds):
        for kind, sizes in settings.items():
            for size in sizes:
                rate = words_per_cpu_second(nlp, inputs[kind], size)
                best[kind][size] = max(best[kind][size], rate)
    result = {"model": options.model, "rounds": options.rounds}
    for kind, rates in best.items():
        spread = max(rates.values()) / min(rates.values())
        label = "batch_size" if kind == "short" else "pieces per call"
        print(f"{kind}: " + ", ".join(f"{label} {size}: {rate:,.0f} words/CPU s"
                                      for size, rate in rates.items())
              + f"; fastest / slowest {spread:.3f}")
        result[kind] = {"words_per_cpu_second": {str(k): round(v) for k, v in rates.items()},
                        "spread": round(spread, 3)}
    if options.json:
        options.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
