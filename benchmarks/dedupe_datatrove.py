"""Run datatrove's MinHash dedup (its four stages, LocalPipelineExecutor) on a corpus JSONL.

Runs under a separate interpreter that has datatrove (never the project's environment):

    python -m venv /work/dedupe-venv
    /work/dedupe-venv/bin/pip install datatrove regex tokenizers orjson "xxhash<3.6" spacy
    /work/dedupe-venv/bin/python benchmarks/dedupe_datatrove.py CORPUS.jsonl OUT.json \
        --bands 16 --rows 8 [--own-normalisation]

CORPUS.jsonl holds {"id", "text"} lines; OUT.json gets {"removed": [[doc_id, kept_id],
...], "seconds": ...}. By default datatrove shingles as NearDedupe does (lowercase,
whitespace words, word 5-grams), so the two differ only in hashing, banding and what
happens to candidates (datatrove: every bucket collision is a duplicate, union-find on one
task; NearDedupe: verified pairs, distributed components); --own-normalisation uses
datatrove's default text simplification and word tokenizer instead. The kept id of a removed
document is the member of its cluster that datatrove kept. Standard library and datatrove.

Installing datatrove (0.10.1) alone is not enough: its MinHash steps import regex,
tokenizers, orjson and xxhash without declaring them, it passes str to xxhash, which
xxhash 4 refuses ("Strings must be encoded before hashing"; 3.5.1 works), and its English
word tokenizer (--own-normalisation) needs spaCy.
"""
import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig
from datatrove.utils.text import TextNormConfig
from datatrove.utils.word_tokenizers import WordTokenizer


class WhitespaceWords(WordTokenizer):
    """NearDedupe's words: the (lowercased) text split on whitespace."""

    def word_tokenize(self, text):
        return text.split()

    def sent_tokenize(self, text):
        return text.splitlines()

    def span_tokenize(self, text):
        raise NotImplementedError("not used by MinHash dedup")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("output")
    parser.add_argument("--bands", type=int, required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--ngram", type=int, default=5)
    parser.add_argument("--own-normalisation", action="store_true")
    args = parser.parse_args(argv)
    if args.own_normalisation:
        norm, tokenizer = TextNormConfig(), "en"
    else:
        norm = TextNormConfig(lowercase=True, norm_whitespace=True, remove_punctuation=False,
                              norm_unicode_diacritics=False, norm_numbers=False)
        tokenizer = WhitespaceWords()
    config = MinhashConfig(n_grams=args.ngram, num_buckets=args.bands,
                           hashes_per_bucket=args.rows, seed=1, norm_config=norm,
                           hash_config=HashConfig())
    work = Path(tempfile.mkdtemp(prefix="datatrove-"))
    corpus = Path(args.corpus).resolve()
    reader = JsonlReader(str(corpus.parent), glob_pattern=corpus.name, id_key="id")
    start = time.perf_counter()
    stages = [
        [reader, MinhashDedupSignature(output_folder=str(work / "sigs"), config=config,
                                       language=tokenizer)],
        [MinhashDedupBuckets(input_folder=str(work / "sigs"),
                             output_folder=str(work / "buckets"), config=config)],
        [MinhashDedupCluster(input_folder=str(work / "buckets"),
                             output_folder=str(work / "remove"), config=config,
                             save_cluster_id=True)],
        [reader, MinhashDedupFilter(input_folder=str(work / "remove"),
                                    exclusion_writer=JsonlWriter(str(work / "removed")),
                                    load_cluster_ids=True),
         JsonlWriter(str(work / "kept"))],
    ]
    tasks = [1, args.bands, 1, 1]
    for i, (steps, n_tasks) in enumerate(zip(stages, tasks)):
        LocalPipelineExecutor(pipeline=steps, tasks=n_tasks, workers=1,
                              logging_dir=str(work / f"logs{i}")).run()
    seconds = time.perf_counter() - start
    kept_of_cluster, removed = {}, []
    for name in ("kept", "removed"):
        for path in sorted((work / name).glob("*.jsonl*")):
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf8") as f:
                for line in f:
                    doc = json.loads(line)
                    cluster = doc["metadata"].get("minhash_cluster_id", -1)
                    if name == "kept" and cluster != -1:
                        kept_of_cluster[cluster] = doc["id"]
                    elif name == "removed":
                        removed.append((doc["id"], cluster))
    pairs = [[doc_id, kept_of_cluster[cluster]] for doc_id, cluster in removed]
    with open(args.output, "w", encoding="utf8") as f:
        json.dump({"removed": pairs, "seconds": seconds}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
