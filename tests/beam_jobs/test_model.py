"""`--model` as a remote pipeline directory (gs://, s3://, ...): copied to a local temporary
directory through Beam FileSystems, each file streamed in bounded reads and byte for byte,
then loaded; a copy that fails leaves nothing behind."""
import gzip
import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from apache_beam.io.filesystem import CompressionTypes, FileMetadata, MatchResult
from apache_beam.io.localfilesystem import LocalFileSystem

import nlp_core
from beam_jobs import model
from beam_jobs.model import load_pipeline

SCHEME = "chunkstore"
PREFIX = SCHEME + "://"
EN_EWT_SM = Path(nlp_core.__file__).parent / "models" / "en_ewt_sm"


class ChunkStore(LocalFileSystem):
    """`chunkstore:///abs/path` is the local file /abs/path, read through a reader that
    records the size of every read (Beam finds the class by its scheme)."""

    reads: list = []
    opened: list = []
    fail_after_reads: int | None = None

    @classmethod
    def scheme(cls):
        return SCHEME

    def match(self, patterns, limits=None):
        results = super().match([p[len(PREFIX):] for p in patterns], limits)
        return [MatchResult(PREFIX + r.pattern,
                            [FileMetadata(PREFIX + m.path, m.size_in_bytes,
                                          m.last_updated_in_seconds)
                             for m in r.metadata_list])
                for r in results]

    def open(self, path, mime_type="application/octet-stream",
             compression_type=CompressionTypes.AUTO):
        ChunkStore.opened.append((path, compression_type))
        return _RecordingReader(super().open(path[len(PREFIX):], mime_type, compression_type))


class _RecordingReader:
    def __init__(self, file_):
        self._file = file_

    def read(self, size=-1):
        ChunkStore.reads.append(size)
        limit = ChunkStore.fail_after_reads
        if limit is not None and len(ChunkStore.reads) > limit:
            raise OSError("connection reset (test)")
        return self._file.read(size)

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture(autouse=True)
def _fresh_store(monkeypatch, tmp_path):
    ChunkStore.reads, ChunkStore.opened, ChunkStore.fail_after_reads = [], [], None
    # temporary copies land in this test's folder, where the test can look for leftovers
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()


def _files(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_remote_copy_streams_each_file_in_bounded_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(model, "COPY_CHUNK", 1000)
    remote = tmp_path / "remote"
    (remote / "sub").mkdir(parents=True)
    (remote / "weights.bin").write_bytes(os.urandom(5500))
    (remote / "sub" / "small.json").write_bytes(b'{"a": 1}')
    (remote / "empty").write_bytes(b"")

    local = Path(model._copy_remote_dir(PREFIX + str(remote)))

    assert _files(local) == _files(remote)
    assert ChunkStore.reads and all(size == 1000 for size in ChunkStore.reads)
    # 5500 bytes: six reads with data and one that finds the end
    assert len(ChunkStore.reads) == 7 + 2 + 1
    assert local.parent == tmp_path / "tmp"


def test_remote_copy_keeps_compressed_files_as_they_are(tmp_path):
    remote = tmp_path / "remote"
    remote.mkdir()
    packed = gzip.compress(b"vectors " * 1000)
    (remote / "vectors.gz").write_bytes(packed)

    local = Path(model._copy_remote_dir(PREFIX + str(remote) + "/"))

    assert (local / "vectors.gz").read_bytes() == packed
    assert ChunkStore.opened == [(PREFIX + str(remote / "vectors.gz"),
                                  CompressionTypes.UNCOMPRESSED)]


def test_failed_remote_copy_leaves_no_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(model, "COPY_CHUNK", 100)
    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / "weights.bin").write_bytes(os.urandom(1000))
    ChunkStore.fail_after_reads = 3

    with pytest.raises(OSError, match="connection reset"):
        model._copy_remote_dir(PREFIX + str(remote))
    assert list((tmp_path / "tmp").iterdir()) == []


def test_remote_pipeline_loads_and_annotates_as_the_local_one(tmp_path):
    remote = tmp_path / "remote" / "en_ewt_sm"
    shutil.copytree(EN_EWT_SM, remote)
    text = "Apple is looking at buying a U.K. startup for $1 billion."

    nlp = load_pipeline(PREFIX + str(remote))

    doc, expected = nlp(text), nlp_core.load("en_ewt_sm")(text)
    assert nlp.pipe_names == ["tok2vec", "tagger", "upos", "parser", "ner"]
    assert [(t.tag_, t.dep_, t.head.i) for t in doc] == \
        [(t.tag_, t.dep_, t.head.i) for t in expected]
    assert [e.text for e in doc.ents] == [e.text for e in expected.ents]


def test_empty_remote_directory_names_model(tmp_path):
    (tmp_path / "remote").mkdir()
    url = PREFIX + str(tmp_path / "remote")
    with pytest.raises(OSError, match=r"--model '.*remote': no files under this path"):
        load_pipeline(url)


class NameStore(LocalFileSystem):
    """`namestore://bucket/model/` lists the object names in `names` (any string, as an
    object store allows), each holding b"payload"."""

    names: list = []

    @classmethod
    def scheme(cls):
        return "namestore"

    def match(self, patterns, limits=None):
        return [MatchResult(p, [FileMetadata("namestore://bucket/model/" + n, 7)
                                for n in NameStore.names]) for p in patterns]

    def open(self, path, mime_type="application/octet-stream",
             compression_type=CompressionTypes.AUTO):
        return _RecordingReader(io.BytesIO(b"payload"))


@pytest.mark.parametrize("name", ["../../escaped.txt", "vocab/../../../escaped.txt",
                                  "/tmp/escaped.txt", "C:/escaped.txt",
                                  "vocab\\..\\..\\escaped.txt"])
def test_remote_object_names_outside_the_directory_are_refused(tmp_path, name):
    NameStore.names = ["config.cfg", name, "meta.json"]
    with pytest.raises(OSError, match=r"E622.*nothing was copied"):
        load_pipeline("namestore://bucket/model")
    # nothing was written: not the good objects, not the escaping one
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not list(tmp_path.rglob("escaped.txt"))


def test_remote_object_names_inside_the_directory_are_copied(tmp_path):
    NameStore.names = ["config.cfg", "vocab/strings.json", "a..b/c.d"]
    local = Path(model._copy_remote_dir("namestore://bucket/model"))
    assert _files(local) == {"config.cfg": b"payload", "vocab/strings.json": b"payload",
                             "a..b/c.d": b"payload"}
