"""The output directory's life cycle: a staging area beside it, the swap, the cleanup.

A run never writes into --output (OUTPUT below) until it has finished:

    OUTPUT/_LOCK                the run using OUTPUT (output_lock.py)
    OUTPUT.tmp-<run_id>/        the staging area, a sibling of OUTPUT: the run's tables,
                                Beam's temporary files (beam-temp-*) and run_summary.json
                                are written here, so readers of OUTPUT (pyarrow, DuckDB
                                `OUTPUT/**/*.parquet`, Polars) never see half-written files
    OUTPUT/_SUCCESS             written last: OUTPUT holds one finished run

When the pipeline has succeeded and its counts reconcile, `commit` swaps the staged entries
in: OUTPUT's `_SUCCESS` and the previous run's entries (annotations/, dead_letter/,
tensors/, run_summary.json; nothing else in OUTPUT) move to OUTPUT.tmp-<run_id>/_replaced/,
the new ones move into OUTPUT, and a new `_SUCCESS` is put in place; then the staging area
is deleted. Until the swap, OUTPUT keeps the previous run's output, so a failed or
interrupted run (an error, Ctrl-C) changes nothing there. A run killed outright (SIGKILL, a
lost machine) leaves its staging area behind; the next run on OUTPUT, once it holds the
lock, deletes every OUTPUT.tmp-* and the `beam-temp-*` directories that runs before this
layout left inside OUTPUT's tables. A run killed during the swap itself (a few renames on a
local disk) leaves OUTPUT without `_SUCCESS`, possibly without some tables; the previous
output is then only in that run's staging area, which the next run deletes.

Locally the swap renames whole directories (copies them when OUTPUT is a mount point of its
own, e.g. a container volume). On other Beam filesystems (gs://, s3://, ...) it goes
through `FileSystems`, object by object (copy and delete), so it is not instantaneous.
"""
import datetime
import errno
import glob
import json
import logging
import os
import secrets
import shutil
import time
from typing import List, NamedTuple, Optional, Sequence

from apache_beam.io.filesystems import FileSystems

from .output_lock import check_lock, is_local
from .summary import SUMMARY_NAME

SUCCESS_NAME = "_SUCCESS"
STAGING_TAG = ".tmp-"
REPLACED = "_replaced"
# what a run owns inside OUTPUT; anything else there (a user's notes) is left alone
ENTRIES = ("annotations", "dead_letter", "tensors", SUMMARY_NAME)
TABLES = ENTRIES[:3]


class OutputDir(NamedTuple):
    """Where one run writes: `final` is --output as given, `staging` its sibling."""

    final: str
    staging: str
    run_id: str

    def path(self, *parts: str) -> str:
        return FileSystems.join(self.final, *parts)

    def staged(self, *parts: str) -> str:
        return FileSystems.join(self.staging, *parts)

    def final_path(self, staged_path: str) -> str:
        """The path a staged file will have in OUTPUT once the run is committed."""
        if not staged_path.startswith(self.staging):
            return staged_path
        return FileSystems.join(self.final, staged_path[len(self.staging):].lstrip("/\\"))


def new_run_id() -> str:
    """Sortable by start time, unique across processes and hosts."""
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"


def _stem(output: str) -> str:
    """OUTPUT without a trailing slash (absolute when local); ValueError for a root, which
    has no parent to hold the staging area."""
    if is_local(output):
        stem = os.path.abspath(output)
        if os.path.dirname(stem) == stem:
            raise ValueError(f"--output {output!r} is the root of the filesystem: choose a "
                             "directory below it (the job builds its output beside it).")
        return stem
    stem = output.rstrip("/")
    if "/" not in stem.split("://", 1)[-1]:
        raise ValueError(f"--output {output!r} is a bucket root: choose a directory inside "
                         "it (the job builds its output beside it), e.g. "
                         f"{stem}/annotated.")
    return stem


def sibling_path(output: str, suffix: str) -> str:
    """A path beside --output `output`: OUTPUT + suffix (e.g. the annotate job's partial
    area, OUTPUT.partial)."""
    return _stem(output) + suffix


def staging_for(output: str, run_id: str) -> OutputDir:
    """Where run `run_id` stages its output for --output `output`."""
    return OutputDir(output, _stem(output) + STAGING_TAG + run_id, run_id)


# --- checks (no writes: `plan` calls these) ---

def check_output(output: str, overwrite: bool,
                 entries: Optional[Sequence[str]] = None) -> None:
    """Raise a clear error now, before the model loads, when this run could not write
    `output`: it is a file, it or its parent is not writable, another run holds its lock,
    or it holds a previous run's output and `overwrite` is off."""
    stem = _stem(output)
    if is_local(output):
        _check_local_writable(output, stem)
    check_lock(output)
    existing = existing_outputs(output, entries)
    if existing and not overwrite:
        raise ValueError(f"--output {output!r} already holds outputs of a run (e.g. "
                         f"{existing[0]}). Pass --overwrite to replace them (the old ones "
                         "stay until the new run has succeeded), or choose another "
                         "directory.")


def _check_local_writable(output: str, stem: str) -> None:
    if os.path.exists(stem) and not os.path.isdir(stem):
        raise ValueError(f"--output {output!r} is a file, not a directory: choose a "
                         "directory (it is created if missing).")
    if os.path.isdir(stem) and not os.access(stem, os.W_OK | os.X_OK):
        raise ValueError(f"--output {output!r}: the directory is not writable. Fix its "
                         "permissions or choose another directory.")
    # The staging area goes beside OUTPUT, so its parent (the nearest one that exists,
    # where the job would create the rest) must be a writable directory too.
    parent = os.path.dirname(stem)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ValueError(f"--output {output!r}: {parent} is a file, so the directory "
                         "cannot be created. Choose another path.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--output {output!r}: {parent} is not writable, and the job "
                         f"builds its output there beside {os.path.basename(stem)} before "
                         "moving it in. Fix the permissions or choose another directory.")


def existing_outputs(output: str, entries: Optional[Sequence[str]] = None) -> List[str]:
    """Files of a previous run in `output` (not debris such as beam-temp-* directories):
    the annotate job's tables and summary, or, given another job's `entries` (files and
    directories), those."""
    if entries is not None:
        patterns = [FileSystems.join(output, name) for name in (SUCCESS_NAME, *entries)]
        patterns += [FileSystems.join(output, name, "*") for name in entries]
        return sorted({path for pattern in patterns for path in _match(pattern)})
    patterns = [FileSystems.join(output, table, "part-*") for table in TABLES]
    patterns += [FileSystems.join(output, name) for name in (SUMMARY_NAME, SUCCESS_NAME)]
    return [path for pattern in patterns for path in _match(pattern)]


def _match(pattern: str) -> List[str]:
    try:
        return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    except Exception:  # nothing there (some filesystems raise for no match)
        return []


# --- staging, swap, cleanup (only while holding the lock) ---

def remove_debris(out: OutputDir) -> List[str]:
    """Delete what killed runs left: staging areas beside OUTPUT and beam-temp-*
    directories inside its tables. Safe only while holding OUTPUT's lock (no other run on
    OUTPUT is writing). Returns what was deleted."""
    stem = _stem(out.final)
    if is_local(out.final):
        found = glob.glob(glob.escape(stem + STAGING_TAG) + "*")
        found += glob.glob(os.path.join(glob.escape(stem), "*", "beam-temp-*"))
        for path in found:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
    else:
        found = _match(stem + STAGING_TAG + "*/**")
        found += _match(FileSystems.join(out.final, "*", "beam-temp-*", "**"))
        if found:
            FileSystems.delete(found)
    if found:
        logging.warning("--output %s: removed what an interrupted run left (%s)", out.final,
                        ", ".join(sorted(found)[:3]) + (", ..." if len(found) > 3 else ""))
    return sorted(found)


def discard(out: OutputDir) -> None:
    """Delete the staging area (what a failed run wrote, or what a commit replaced)."""
    if is_local(out.staging):
        shutil.rmtree(out.staging, ignore_errors=True)
        return
    found = _match(out.staged("**"))
    if found:
        FileSystems.delete(found)


def commit(out: OutputDir, entries: Sequence[str] = ENTRIES) -> None:
    """Swap the staged entries (the annotate job's, or another job's `entries`) into
    OUTPUT (see the module docstring); on an error half way, the moves done so far are
    undone and the error is raised."""
    replaced = out.staged(REPLACED)
    moves = [(out.path(name), FileSystems.join(replaced, name))
             for name in (SUCCESS_NAME, *entries) if _exists(out.path(name))]
    moves += [(out.staged(name), out.path(name)) for name in entries
              if _exists(out.staged(name))]
    done = []
    try:
        for source, destination in moves:
            _move(source, destination)
            done.append((source, destination))
        _put_success_marker(out)
    except BaseException:
        for source, destination in reversed(done):
            try:
                _move(destination, source)
            except Exception as err:  # keep undoing the rest; the first error is raised
                logging.error("could not move %s back to %s: %s", destination, source, err)
        raise


def _put_success_marker(out: OutputDir) -> None:
    """Written in the staging area, then renamed: a `_SUCCESS` in OUTPUT is always whole."""
    staged = out.staged(SUCCESS_NAME)
    marker = {"run_id": out.run_id,
              "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    with FileSystems.create(staged, mime_type="application/json") as file_:
        file_.write(json.dumps(marker).encode("utf8") + b"\n")
    _move(staged, out.path(SUCCESS_NAME))


def _exists(path: str) -> bool:
    if is_local(path):
        return os.path.lexists(path)
    return FileSystems.exists(path) or bool(_match(FileSystems.join(path, "**")))


def _move(source: str, destination: str) -> None:
    """Move a file or a directory tree. Locally one rename; elsewhere object by object."""
    if is_local(source):
        os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
        try:
            os.rename(source, destination)
        except OSError as err:
            if err.errno != errno.EXDEV:
                raise
            # OUTPUT is a mount point of its own (e.g. a container volume): copy instead
            shutil.move(source, destination)
        return
    if FileSystems.exists(source):
        FileSystems.rename([source], [destination])
        return
    files = _match(FileSystems.join(source, "**"))
    FileSystems.rename(files, [FileSystems.join(destination, f[len(source):].lstrip("/"))
                               for f in files])
