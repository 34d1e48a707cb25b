"""The transformer listeners' pooling shared at inference (`PooledBatches`), one process.

    OPENBLAS_NUM_THREADS=1 python benchmarks/trf_pooling.py [--model en_ewt_trf]
        [--docs 600] [--rounds 3] [--batch-size 256] [--torch-threads 1] [--json OUT]

A transformer component's listeners each pool the batch's wordpiece vectors into token
vectors (nlp_core/ml/transformer/pooling.py). en_ewt_trf has four (tagger, upos, parser,
NER), all with reduce_mean, so the same pooling ran four times per batch; at inference they
now share it. This measures `nlp.pipe(texts, batch_size=B)` of the whole pipeline with the
sharing on (as shipped) and off (each listener's `pooled_batches` set to None), the two in
turn, --rounds times each, after a warm-up pass, in this one process.

Documents: UD English EWT dev as runs of up to 3 consecutive sentences of one EWT document
(`annotate_corpus.ewt_documents`, the annotate job benchmarks' records), the first --docs.
Reported per side: words per CPU second (process time: steadier than wall time on a shared
machine; torch on --torch-threads threads, 1 by default, so that CPU time is the work's
and not idle threads spinning) of each round and the best, the ratio of the best, and whether every tag, POS,
head, dep and entity is the same on both sides.

Each pooling is the same computation either way (the sharing returns the vectors of the
first listener's call to the others), so the annotations must be identical.
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotate_corpus import ewt_documents  # noqa: E402
from common import EWT  # noqa: E402


def annotations(docs):
    return [(t.tag_, t.pos_, t.head.i, t.dep_, t.ent_iob_, t.ent_type_)
            for doc in docs for t in doc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="en_ewt_trf")
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import torch

    import nlp_core
    from nlp_core.ml.transformer import TransformerListener

    texts = [text for _, text in ewt_documents(EWT / "en_ewt-ud-dev.conllu", 3)][:args.docs]
    torch.set_num_threads(args.torch_threads)
    nlp = nlp_core.load(args.model)
    listeners = [node for _, pipe in nlp.pipeline if hasattr(pipe, "model")
                 for node in pipe.model.walk() if isinstance(node, TransformerListener)]
    shared = [listener.pooled_batches for listener in listeners]
    if not listeners or any(cache is None for cache in shared):
        sys.exit(f"{args.model}: no transformer listeners with shared pooling")

    def run(sharing: bool):
        for listener, cache in zip(listeners, shared):
            listener.pooled_batches = cache if sharing else None
        started = time.process_time()
        docs = list(nlp.pipe(texts, batch_size=args.batch_size))
        return time.process_time() - started, docs

    run(True)  # warm-up: weights paged in, allocator, caches
    seconds = {"shared": [], "each": []}
    found = {}
    for _ in range(args.rounds):
        for side in ("each", "shared"):
            cpu, docs = run(side == "shared")
            seconds[side].append(cpu)
            found.setdefault(side, annotations(docs))
    words = sum(len(doc) for doc in docs)
    result = {"model": args.model, "docs": len(texts), "words": words,
              "torch_threads": torch.get_num_threads(),
              "listeners": len(listeners), "batch_size": args.batch_size,
              "words_per_cpu_s": {side: [round(words / s) for s in runs]
                                  for side, runs in seconds.items()},
              "best_words_per_cpu_s": {side: round(words / min(runs))
                                       for side, runs in seconds.items()},
              "shared_over_each": round(min(seconds["each"]) / min(seconds["shared"]), 3),
              "identical": found["shared"] == found["each"]}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
