"""The deterministic shuffle and the shards of the pretraining-corpus job.

Every document gets a 63-bit shuffle key, BLAKE2b of the seed, its text and its id: the
order depends only on the content and --seed, never on the runner or how the input was
split. Writing shards of a fixed size in that order needs each document's global rank
without sorting the corpus on one worker:

  1. the key's top bits put each document in one of BUCKETS buckets; a cheap combine
     counts documents and bytes per bucket (a side input of BUCKETS numbers);
  2. each bucket is sorted by key on its own worker; a document's rank (or byte offset)
     is its place in its bucket plus the totals of the buckets before it;
  3. the shard is rank // --shard-docs (or byte offset // --shard-mb): documents are grouped
     by shard and each shard written by one worker, in rank order.

A shard holds --shard-docs documents (the last fewer), or the documents starting in its
--shard-mb byte range (so a shard may pass that size by at most one document). Formats:
JSONL `{"text": ..., "id": ...}` per line (.jsonl, or .jsonl.gz: gzip with no name and time
in its header, so the bytes are reproducible), .spacy (DocBin of --model's tokenization,
the id in each doc's user_data) and Parquet (schemas/pretraining_shard.py).
"""
import gzip
import hashlib
import io
import json
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Tuple

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils import shared

from nlp_core.tokens import DocBin
from schemas import pretraining_shard

from .model import SharedPipeline

BUCKET_BITS = 10
BUCKETS = 1 << BUCKET_BITS
EXTENSIONS = {"jsonl": ".jsonl", "jsonl.gz": ".jsonl.gz", "spacy": ".spacy",
              "parquet": ".parquet"}


class ShardInfo(NamedTuple):
    """One written shard, as stats.json lists it."""

    index: int
    path: str
    documents: int
    words: int
    text_bytes: int
    file_bytes: int


def shuffle_key(seed: int, doc_id: str, text: str) -> int:
    digest = hashlib.blake2b(text.encode("utf8"), digest_size=8,
                             key=seed.to_bytes(8, "little", signed=True),
                             person=b"shuffle")
    digest.update(b"\0" + doc_id.encode("utf8"))
    return int.from_bytes(digest.digest(), "big") >> 1  # Beam's integer coders: signed 64 bits


def bucket_of(key: int) -> int:
    return key >> (63 - BUCKET_BITS)


def _keyed(doc: Tuple[str, str], seed: int) -> Tuple[int, Tuple[int, str, str]]:
    doc_id, text = doc
    key = shuffle_key(seed, doc_id, text)
    return bucket_of(key), (key, doc_id, text)


def _bucket_size(item: Tuple[int, Tuple[int, str, str]]) -> Tuple[int, Tuple[int, int]]:
    bucket, (_, _, text) = item
    return bucket, (1, len(text.encode("utf8")))


def _ranked(group: Tuple[int, Iterable[Tuple[int, str, str]]], sizes: Dict[int, Any],
            shard_docs: int, shard_bytes: int) -> Iterator[Tuple[int, Tuple[int, str, str]]]:
    """A bucket -> (shard, (rank, doc_id, text)) for each of its documents."""
    bucket, docs = group
    rank = sum(sizes[b][0] for b in sizes if b < bucket)
    offset = sum(sizes[b][1] for b in sizes if b < bucket)
    for _, doc_id, text in sorted(docs):
        shard = rank // shard_docs if shard_docs else offset // shard_bytes
        yield shard, (rank, doc_id, text)
        rank += 1
        offset += len(text.encode("utf8"))


class WriteShard(beam.DoFn):
    """(shard index, documents) -> the shard file, written in rank order; yields its
    ShardInfo (path as it will be once the run is committed).

    Args:
        directory: the staged shards directory.
        output_format: one of EXTENSIONS.
        model: the pipeline whose tokenizer makes the .spacy shards' Docs.
        final_path: maps a staged path to its committed place.
    """

    def __init__(self, directory: str, output_format: str, model: str, final_path):
        self.directory = directory
        self.output_format = output_format
        self.model = model
        self.final_path = final_path
        self._shared = shared.Shared()

    def setup(self):
        self._pipeline = None
        if self.output_format == "spacy":
            self._pipeline = self._shared.acquire(lambda: SharedPipeline(self.model),
                                                  tag=(self.model, -1))

    def process(self, group: Tuple[int, Iterable[Tuple[int, str, str]]]) -> Iterator[ShardInfo]:
        index, docs = group
        docs = sorted(docs)
        path = FileSystems.join(self.directory,
                                f"shard-{index:05d}{EXTENSIONS[self.output_format]}")
        data = self._encode([(doc_id, text) for _, doc_id, text in docs])
        with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as out:
            out.write(data)
        yield ShardInfo(index, self.final_path(path), len(docs),
                        sum(len(text.split()) for _, _, text in docs),
                        sum(len(text.encode("utf8")) for _, _, text in docs), len(data))

    def _encode(self, docs: List[Tuple[str, str]]) -> bytes:
        if self.output_format in ("jsonl", "jsonl.gz"):
            lines = b"".join(json.dumps({"text": text, "id": doc_id}, ensure_ascii=False)
                             .encode("utf8") + b"\n" for doc_id, text in docs)
            if self.output_format == "jsonl":
                return lines
            buffer = io.BytesIO()
            with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as zipped:
                zipped.write(lines)
            return buffer.getvalue()
        if self.output_format == "parquet":
            table = pa.Table.from_arrays(
                [pa.array([d for d, _ in docs], pa.string()),
                 pa.array([t for _, t in docs], pa.string())],
                schema=pretraining_shard.SCHEMA)
            buffer = io.BytesIO()
            pq.write_table(table, buffer, compression="zstd")
            return buffer.getvalue()
        make_doc = self._pipeline.nlp.make_doc
        docbin = DocBin(store_user_data=True)
        for doc_id, text in docs:
            doc = make_doc(text)
            doc.user_data["id"] = doc_id
            docbin.add(doc)
        return docbin.to_bytes()


class WriteShards(beam.PTransform):
    """Documents (id, text) -> ShardInfo per shard written (see the module docstring)."""

    def __init__(self, directory: str, output_format: str, seed: int, shard_docs: int,
                 shard_bytes: int, model: str, final_path):
        super().__init__()
        self.directory = directory
        self.output_format = output_format
        self.seed = seed
        self.shard_docs = shard_docs
        self.shard_bytes = shard_bytes
        self.model = model
        self.final_path = final_path

    def expand(self, docs):
        keyed = docs | "ShuffleKey" >> beam.Map(_keyed, self.seed)
        sizes = (keyed
                 | "BucketSizes" >> beam.Map(_bucket_size)
                 | "SumBuckets" >> beam.CombinePerKey(
                     beam.combiners.TupleCombineFn(sum, sum)))
        return (keyed
                | "GroupBuckets" >> beam.GroupByKey()
                | "RankInBucket" >> beam.FlatMap(_ranked, beam.pvalue.AsDict(sizes),
                                                 self.shard_docs, self.shard_bytes)
                | "GroupShards" >> beam.GroupByKey()
                | "WriteShard" >> beam.ParDo(WriteShard(
                    self.directory, self.output_format, self.model, self.final_path)))
