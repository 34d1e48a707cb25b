"""How the transformer's windows are grouped into sub-batches on the CPU: the per-call cost
`CPU_CALL_POSITIONS` of nlp_core/ml/transformer/windows.py against other values and
against filling each sub-batch up to max_batch_items (the GPU's grouping, the CPU's before).

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python benchmarks/trf_grouping.py --rounds 2
    # options: --model en_ewt_trf --calls filled,16,32,64,128,256 --threads 1 --batch 128

The transformer component of --model alone (`Transformer.predict`, what `nlp.pipe` runs per
sub-batch of documents) over two texts of UD English EWT test: its 2,077 sentences, and the
same sentences as 208 documents of 10 (what `transformer_cpu_int8.py` runs), in batches of
--batch documents. Each setting in turn, --rounds times; the best round counts. Also
printed: the padded positions each grouping runs (the real ones are the same in all).
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EWT, conllu_texts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="en_ewt_trf")
    parser.add_argument("--calls", default="filled,16,32,64,128,256")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    import torch

    import nlp_core
    from nlp_core.ml.transformer import model as trf_model
    from nlp_core.ml.transformer.windows import build_windows

    torch.set_num_threads(args.threads)
    sentences = conllu_texts(EWT / "en_ewt-ud-test.conllu")
    texts = {"sentences": sentences,
             "documents": [" ".join(sentences[i:i + 10]) for i in range(0, len(sentences), 10)]}
    nlp = nlp_core.load(args.model)
    trf = nlp.get_pipe("transformer")
    items = trf.model.attrs["max_batch_items"]
    settings = [None if c == "filled" else int(c) for c in args.calls.split(",")]
    docs = {name: [nlp.make_doc(t) for t in ts] for name, ts in texts.items()}
    for name, ds in docs.items():
        for call in settings:
            padded = real = 0
            for b in range(0, len(ds), args.batch):
                part = ds[b:b + args.batch]
                w = build_windows(part, trf.model.get_spans(part), trf.model.wordpiecer,
                                  items, call)
                real += int(w.lengths.sum())
                padded += sum(len(rows) * length for rows, length in w.groups)
            print(f"{name} call={call or 'filled'}: {real} positions, {padded} padded "
                  f"({padded / real:.2f}x)", flush=True)
    best = {}
    for _ in range(args.rounds):
        for call in settings:
            # None is the GPU's filled grouping; the model reads the name at each call
            trf_model.CPU_CALL_POSITIONS = call
            for name, ds in docs.items():
                start = time.perf_counter()
                for b in range(0, len(ds), args.batch):
                    trf.predict(ds[b:b + args.batch])
                seconds = time.perf_counter() - start
                key = (name, call or "filled")
                best[key] = min(best.get(key, float("inf")), seconds)
                print(f"{name} call={call or 'filled'}: {seconds:.2f} s", flush=True)
    words = {name: sum(len(d) for d in ds) for name, ds in docs.items()}
    print(f"\nbest of {args.rounds}, {args.threads} torch thread(s), batches of {args.batch}:")
    for name in docs:
        filled = best.get((name, "filled"))
        for call in settings:
            seconds = best[(name, call or "filled")]
            ratio = f", {filled / seconds:.2f}x filled" if filled else ""
            print(f"  {name:9s} {str(call or 'filled'):>6s}: {seconds:6.2f} s, "
                  f"{words[name] / seconds:7.0f} words/s{ratio}")


if __name__ == "__main__":
    main()
