"""Input shards and the partial-run area that makes a run resumable (`--resume`).

The input is cut into shards that depend only on the files and `--shard-mb`: a plain
JSONL file in byte ranges of that size (a line belongs to the range it starts in), a
compressed file or a `.spacy` file whole. Shard i of n writes its tables as
`part-<i>-of-<n>.parquet`, so every run over the same input names its files alike.

While a run works, the finished shards live in the partial area beside --output:

    OUTPUT.partial/plan.json                  the shards and the settings that shape rows
    OUTPUT.partial/<table>/part-i-of-n.parquet  each shard's rows (annotations, dead_letter,
                                              tensors), written under a temporary name and
                                              renamed into place
    OUTPUT.partial/manifests/part-i-of-n.json   written last, atomically: what the shard
                                              covered, its counts and files. A shard is
                                              committed when its manifest and its files are
                                              there.

A run killed at any point (SIGKILL, a lost machine) loses only the shards in flight: the
next run with `--resume` checks that its plan is the one in plan.json (same files, sizes
and settings), skips the committed shards and redoes the rest; the final tables and counts
are those of an uninterrupted run. When every shard is committed the tables move into
the staging area and are swapped into --output (output_dir.py), and the partial area goes.
Without `--resume` a partial area is an error naming `--resume` and `--overwrite`.
"""
import hashlib
import json
import logging
import os
import secrets
import shutil
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import pyarrow as pa
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from .job_runner import interrupted
from .output_dir import sibling_path
from .output_lock import is_local
from .parquet import _RowGroupWriter
from .records import DOCBIN, JSONL

PARTIAL_TAG = ".partial"
PLAN_NAME = "plan.json"
MANIFESTS = "manifests"
PLAN_VERSION = 1


class Shard(NamedTuple):
    """Records of `path` that start in [start, end) (end None: the whole file)."""

    index: int
    count: int
    kind: str
    path: str
    start: int
    end: Optional[int]
    size: int

    @property
    def name(self) -> str:
        return f"part-{self.index:05d}-of-{self.count:05d}"

    def key(self) -> Dict[str, Any]:
        return {"name": self.name, "path": self.path, "start": self.start, "end": self.end,
                "size": self.size}


def plan_shards(paths: Sequence[str], kind: str, shard_bytes: int) -> List[Shard]:
    """The shards of the (sorted) input files."""
    pieces = []
    for path in sorted(paths):
        size = FileSystems.match([path])[0].metadata_list[0].size_in_bytes
        plain = CompressionTypes.detect_compression_type(path) == CompressionTypes.UNCOMPRESSED
        if kind == JSONL and plain:
            pieces += [(path, start, min(start + shard_bytes, size), size)
                       for start in range(0, max(size, 1), shard_bytes)]
        else:
            pieces.append((path, 0, None, size))
    kinds = DOCBIN if kind == DOCBIN else JSONL
    return [Shard(i, len(pieces), kinds, *piece) for i, piece in enumerate(pieces)]


def fingerprint(shards: Sequence[Shard], settings: Dict[str, Any]) -> str:
    data = json.dumps([[s.key() for s in shards], settings], sort_keys=True)
    return hashlib.sha256(data.encode("utf8")).hexdigest()[:16]


class PartialRun:
    """The partial area of --output `output` (see the module docstring)."""

    def __init__(self, output: str):
        self.root = sibling_path(output, PARTIAL_TAG)

    def path(self, *parts: str) -> str:
        return FileSystems.join(self.root, *parts)

    def table_file(self, table: str, shard: Shard) -> str:
        return self.path(table, shard.name + ".parquet")

    def exists(self) -> bool:
        return _exists(self.path(PLAN_NAME))

    def read_plan(self) -> Optional[Dict[str, Any]]:
        if not self.exists():
            return None
        with FileSystems.open(self.path(PLAN_NAME)) as file_:
            return json.loads(file_.read().decode("utf8"))

    def has_committed(self) -> bool:
        """Whether any shard manifest is there (else the area holds nothing worth keeping:
        a run that committed no shard is discarded like any debris)."""
        return bool(_match(self.path(MANIFESTS, "*.json")))

    def start(self, shards: Sequence[Shard], settings: Dict[str, Any]) -> None:
        """Write plan.json for a new partial run (the area must be empty)."""
        plan = {"version": PLAN_VERSION, "fingerprint": fingerprint(shards, settings),
                "settings": settings, "shards": [s.key() for s in shards]}
        write_atomic(self.path(PLAN_NAME), json.dumps(plan, indent=1).encode("utf8"))

    def check_plan(self, shards: Sequence[Shard], settings: Dict[str, Any], output: str
                   ) -> None:
        """ValueError when the partial run was made for other input files or settings."""
        plan = self.read_plan() or {}
        if plan.get("fingerprint") == fingerprint(shards, settings):
            return
        old = plan.get("settings", {})
        changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
        old_shards = plan.get("shards", [])
        if [s.key() for s in shards] != old_shards:
            changed.append("the input files (names, sizes or --shard-mb)")
        raise ValueError(f"--resume: the partial run of --output {output!r} (in {self.root}) "
                         f"was made with other settings or input: {', '.join(changed)}. Run "
                         "with the same ones to resume it, or pass --overwrite (without "
                         "--resume) to discard it and start afresh.")

    def committed(self, shards: Sequence[Shard], tables: Sequence[str]
                  ) -> Dict[str, Dict[str, Any]]:
        """shard name -> manifest, for the shards whose manifest and files are all there."""
        found = {}
        for shard in shards:
            path = self.path(MANIFESTS, shard.name + ".json")
            if not _exists(path):
                continue
            try:
                with FileSystems.open(path) as file_:
                    manifest = json.loads(file_.read().decode("utf8"))
            except (OSError, ValueError) as err:  # damaged: the shard is redone
                logging.warning("%s: unreadable manifest, redoing the shard (%s)", path, err)
                continue
            if manifest.get("shard") != shard.key():
                continue
            files = manifest.get("files") or {}
            if any(files.get(t) != self.table_file(t, shard) for t in tables):
                # only the shard's own files: a manifest never makes a run read another path
                logging.warning("%s: names files that are not the shard's own, redoing the "
                                "shard", path)
                continue
            if all(_exists(self.table_file(t, shard)) for t in tables):
                found[shard.name] = manifest
        return found

    def commit_shard(self, shard: Shard, manifest: Dict[str, Any]) -> None:
        write_atomic(self.path(MANIFESTS, shard.name + ".json"),
                     json.dumps({"shard": shard.key(), **manifest}).encode("utf8"))

    def discard(self) -> None:
        if is_local(self.root):
            shutil.rmtree(self.root, ignore_errors=True)
            return
        found = _match(self.path("**"))
        if found:
            FileSystems.delete(found)


def check_partial(output: str, resume: bool, overwrite: bool) -> bool:
    """Whether this run resumes a partial run of --output `output` (one that committed a
    shard; an area without any is debris). For `plan`: checks only.

    Raises:
        ValueError: a partial run is there and neither --resume nor --overwrite was given.
    """
    partial = PartialRun(output)
    if partial.read_plan() is None or not partial.has_committed():
        return False
    if not (resume or overwrite):
        raise ValueError(f"--output {output!r} holds a partial run that did not finish "
                         f"({partial.root}): pass --resume to finish it (the shards it "
                         "committed are kept), or --overwrite to discard it and start "
                         "afresh.")
    return resume


def start_or_resume(partial: PartialRun, shards: Sequence[Shard], settings: Dict[str, Any],
                    tables: Sequence[str], resume: bool, output: str
                    ) -> Dict[str, Dict[str, Any]]:
    """Resume the partial run (with `resume` and a committed shard: its plan must be this
    run's) or start a new one; the manifests of the shards committed already."""
    if resume and partial.has_committed():
        partial.check_plan(shards, settings, output)
        committed = partial.committed(shards, tables)
        logging.warning("--resume: %d of %d shards were committed by an earlier run; "
                        "processing the other %d", len(committed), len(shards),
                        len(shards) - len(committed))
        return committed
    partial.discard()
    partial.start(shards, settings)
    return {}


def run_with_retries(shards: Sequence[Shard], partial: PartialRun, tables: Sequence[str],
                     committed: Dict[str, Any], run: Callable[[List[Shard]], Any],
                     retries: int, once: bool = False, run_when_done: bool = False
                     ) -> Tuple[Any, int]:
    """Call `run` (build and run a pipeline) with the shards not committed yet: again, with
    those still left, when it fails (a worker process lost mid-bundle fails a local runner's
    whole job), up to `retries` times (never with `once`, e.g. a TestPipeline, nor after
    an interrupt). With `run_when_done`, `run` is called even when every shard is
    committed (a job with a step over all the shards' results). A failed run leaves no
    partial area unless a shard was committed.

    Returns:
        (what the last `run` returned, the number of attempts).
    """
    result, attempts = None, 0
    while True:
        todo = [shard for shard in shards if shard.name not in committed]
        if not todo and not run_when_done:
            return result, attempts
        attempts += 1
        try:
            return run(todo), attempts
        except Exception as err:
            if once or attempts > retries or interrupted(err):
                if not partial.has_committed():  # nothing to resume: leave no debris
                    partial.discard()
                raise
            committed = partial.committed(shards, tables)
            logging.warning("the pipeline failed (%s: %s); %d of %d shards are committed, "
                            "running again (attempt %d of %d)", type(err).__name__,
                            str(err)[:200], len(committed), len(shards), attempts + 1,
                            retries + 1)
        except BaseException:
            if not partial.has_committed():
                partial.discard()
            raise


class TableFile:
    """One table's Parquet file of a shard: written under a temporary name, renamed into
    place by `commit`."""

    def __init__(self, path: str, schema: pa.Schema, row_group_bytes: int,
                 writer_options: Optional[Dict[str, Any]] = None):
        self.path = path
        self.temporary = temporary_name(path)
        self.writer = _RowGroupWriter(create(self.temporary), schema, row_group_bytes,
                                      "zstd", writer_options)

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write(batch)

    def commit(self) -> None:
        self.writer.close()
        rename(self.temporary, self.path)

    def abandon(self) -> None:
        try:
            self.writer.close()
            FileSystems.delete([self.temporary])
        except Exception:  # the shard is redone anyway; a leftover goes with the area
            pass


def move_table(partial: PartialRun, table: str, destination: str) -> None:
    """Move the partial area's `table` folder (its shards' finished files; temporary files
    of attempts that died are left behind) to `destination`."""
    source = partial.path(table)
    files = [f for f in _match(FileSystems.join(source, "*")) if f.endswith(".parquet")]
    if is_local(source):
        os.makedirs(destination, exist_ok=True)
        for path in files:
            os.replace(path, os.path.join(destination, os.path.basename(path)))
        return
    FileSystems.rename(files, [FileSystems.join(destination, f.rsplit("/", 1)[-1])
                               for f in files])


def temporary_name(path: str) -> str:
    """A name beside `path` for writing it before the rename (unique per attempt, so two
    attempts at one shard never write the same file)."""
    return f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"


def rename(source: str, destination: str) -> None:
    """Move a finished file into place (locally one atomic rename)."""
    if is_local(source):
        os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
        os.replace(source, destination)
        return
    if FileSystems.exists(destination):
        FileSystems.delete([destination])
    FileSystems.rename([source], [destination])


def create(path: str):
    """A new file for writing (parent directories made locally)."""
    if is_local(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return FileSystems.create(path, mime_type="application/octet-stream",
                              compression_type=CompressionTypes.UNCOMPRESSED)


def write_atomic(path: str, data: bytes) -> None:
    """`data` into `path`: whole or not at all (temporary name, then a rename; an object
    store's write is already all or nothing)."""
    target = temporary_name(path) if is_local(path) else path
    with create(target) as file_:
        file_.write(data)
    if target != path:
        rename(target, path)


def _exists(path: str) -> bool:
    if is_local(path):
        return os.path.exists(path)
    return FileSystems.exists(path)


def _match(pattern: str) -> List[str]:
    try:
        return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    except Exception:  # nothing there (some filesystems raise for no match)
        return []
