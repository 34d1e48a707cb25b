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
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from .output_dir import sibling_path
from .output_lock import is_local
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
