"""Duplicate removal of the whole pretraining-corpus job, scored on the planted corpus of
`dedupe_corpus.py` (20,000 EWT / UNER documents with exact and near duplicates and their
exact word 5-gram Jaccard ground truth).

    python benchmarks/prepare_pretraining_dedupe.py [--docs 20000] [--json out.json]

The corpus goes through `python -m beam_jobs.prepare_pretraining` as JSONL, with the
defaults of the dedupe steps (exact, then MinHash 128 / 5-grams / threshold 0.8, keep
first) and the quality filters off (`--no-quality-filters --min-words 0`: the corpus has
one-sentence documents on purpose), so what is scored is the job's normalisation, exact
dedupe and near dedupe together. Each removed document's cluster is followed to its final
kept document (an exact copy of a document that near dedupe then removed belongs to the
latter's cluster), and `dedupe_corpus.score` gives recall by true-Jaccard band, the share
of documents without a duplicate that were removed, and precision.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dedupe_corpus import build, score  # noqa: E402  (a benchmarks/ module)

REPO_ROOT = Path(__file__).resolve().parent.parent


def write_corpus(corpus, path: Path) -> None:
    with path.open("w", encoding="utf8") as file_:
        for doc_id, text in corpus.docs:
            file_.write(json.dumps({"id": doc_id, "text": text}) + "\n")


JOB_FLAGS = ["--write-removed", "--no-quality-filters", "--min-words", "0"]


def score_output(corpus, out: Path) -> dict:
    """The scores of a finished run's removed table (see the module docstring)."""
    rows = pq.read_table(out / "removed").to_pylist()
    kept_for = {r["doc_id"]: r["kept_doc_id"] for r in rows}

    def final(doc_id: str) -> str:
        seen = set()
        while doc_id in kept_for and doc_id not in seen:
            seen.add(doc_id)
            doc_id = kept_for[doc_id]
        return doc_id

    removed = [(r["doc_id"], final(r["kept_doc_id"]), r["jaccard"]) for r in rows
               if r["reason"] in ("exact_duplicate", "near_duplicate")]
    return score(corpus, removed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--json", type=Path, default=None)
    options = parser.parse_args()
    corpus = build(options.docs)
    with tempfile.TemporaryDirectory() as root:
        source = Path(root) / "corpus.jsonl"
        write_corpus(corpus, source)
        out = Path(root) / "out"
        subprocess.run([sys.executable, "-m", "beam_jobs.prepare_pretraining", "--input",
                        str(source), "--output", str(out), *JOB_FLAGS], cwd=REPO_ROOT,
                       check=True)
        stats = json.loads((out / "stats.json").read_text())
        scores = score_output(corpus, out)
    scores["job_counts"] = stats["counts"]
    scores["wall_seconds"] = stats["wall_seconds"]
    print(json.dumps(scores, indent=2))
    if options.json:
        options.json.write_text(json.dumps(scores, indent=2) + "\n")


if __name__ == "__main__":
    main()
