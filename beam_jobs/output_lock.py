"""The output directory's lock: one run at a time per --output.

`OUTPUT/_LOCK` holds JSON {pid, host, started, run_id} of the run using OUTPUT. On a local
disk it is created with O_CREAT | O_EXCL, so of two runs that start together exactly one
gets it; the other fails at once with OutputInUse (an OSError: the job exits with code 2).
The lock is deleted when the run ends, however it ends. A run killed outright leaves its
lock: the next run takes it over, with a warning, when it comes from this host and its pid
is no longer alive. A lock from another host is never judged stale (its pid means nothing
here): the message says to delete it once that run is known to be gone.

On other Beam filesystems (gs://, s3://, ...) the lock is read, then written through
`FileSystems`, which offers no create-if-absent: two runs starting within the same moment
can both pass. Each reads its lock back after writing it, which stops a run whose lock was
overwritten before it read it back, but not every interleaving.
"""
import datetime
import json
import logging
import os
import socket
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

from apache_beam.io.filesystems import FileSystems

LOCK_NAME = "_LOCK"


class OutputInUse(OSError):
    """Another run holds the output directory's lock."""


def is_local(path: str) -> bool:
    """A path of this machine's filesystem (Beam gives every other one a scheme://)."""
    return FileSystems.get_scheme(path) is None


def read_lock(output: str) -> Optional[Dict[str, Any]]:
    """The lock's holder, None when there is no lock, {} when it cannot be read (a lock
    being written right now, or damaged: treated as held)."""
    data = _read_bytes(FileSystems.join(output, LOCK_NAME))
    return None if data is None else _parse_lock(data)


def _read_bytes(path: str) -> Optional[bytes]:
    try:
        with FileSystems.open(path) as file_:
            return file_.read()
    except Exception:  # Beam wraps "not found" differently per filesystem
        if FileSystems.exists(path):
            raise
        return None


def _parse_lock(data: bytes) -> Dict[str, Any]:
    try:
        holder = json.loads(data.decode("utf8"))
    except ValueError:  # half-written or damaged: not ours to judge as stale
        return {}
    return holder if isinstance(holder, dict) else {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _holder_is_gone(holder: Dict[str, Any]) -> bool:
    """Only a lock from this host can be judged: its pid no longer runs."""
    pid = holder.get("pid")
    return (holder.get("host") == socket.gethostname() and isinstance(pid, int)
            and not _pid_alive(pid))


def _in_use_message(output: str, holder: Dict[str, Any]) -> str:
    lock = FileSystems.join(output, LOCK_NAME)
    who = (f"pid {holder.get('pid')} on {holder.get('host')}, started "
           f"{holder.get('started')}" if holder else "its lock file cannot be read")
    return (f"--output {output!r} is in use by another run ({who}). Wait for it to finish or "
            f"choose another --output; if no such run is alive, delete {lock}.")


def check_lock(output: str) -> None:
    """OutputInUse when a run that may still be alive holds `output`'s lock (reads only)."""
    holder = read_lock(output)
    if holder is not None and not _holder_is_gone(holder):
        raise OutputInUse(_in_use_message(output, holder))


@contextmanager
def locked(output: str, run_id: str) -> Iterator[None]:
    """Hold `output`'s lock for the block (creating the directory if needed) as run
    `run_id`; OutputInUse when another run holds it."""
    created = not FileSystems.exists(output)
    if is_local(output):
        _acquire_local(output, run_id)
    else:
        _acquire_remote(output, run_id)
    try:
        yield
    finally:
        _release(output, run_id, created)


def _holder(run_id: str) -> Dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "run_id": run_id}


def _acquire_local(output: str, run_id: str) -> None:
    os.makedirs(output, exist_ok=True)
    path = os.path.join(output, LOCK_NAME)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        _take_over_local(output, run_id, path)
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:  # another run took it over first
            raise OutputInUse(_in_use_message(output, read_lock(output) or {})) from None
    with os.fdopen(fd, "w") as file_:
        json.dump(_holder(run_id), file_)


def _take_over_local(output: str, run_id: str, path: str) -> None:
    """Remove a stale lock, or raise OutputInUse. Renaming it aside first (atomic) means
    two runs taking over the same stale lock cannot both remove it; the one that finds
    another lock than the stale one in its hands after the rename puts it back."""
    seen = _read_bytes(path)
    if seen is None:  # released in the meantime
        return
    holder = _parse_lock(seen)
    if not _holder_is_gone(holder):
        raise OutputInUse(_in_use_message(output, holder))
    aside = f"{path}.stale-{run_id}"
    try:
        os.rename(path, aside)
    except FileNotFoundError:  # another run moved it first
        return
    if _read_bytes(aside) != seen:
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        os.remove(aside)
        raise OutputInUse(_in_use_message(output, read_lock(output) or {}))
    os.remove(aside)
    logging.warning("--output %s: took over the lock of run %s (pid %s on this host, "
                    "started %s), which is no longer running.", output,
                    holder.get("run_id"), holder.get("pid"), holder.get("started"))


def _acquire_remote(output: str, run_id: str) -> None:
    path = FileSystems.join(output, LOCK_NAME)
    holder = read_lock(output)
    if holder is not None:
        if not _holder_is_gone(holder):
            raise OutputInUse(_in_use_message(output, holder))
        FileSystems.delete([path])
        logging.warning("--output %s: took over the lock of run %s (pid %s on this host), "
                        "which is no longer running.", output, holder.get("run_id"),
                        holder.get("pid"))
    mine = _holder(run_id)
    with FileSystems.create(path, mime_type="application/json") as file_:
        file_.write(json.dumps(mine).encode("utf8"))
    if read_lock(output) != mine:  # a run that started at the same moment wrote last
        raise OutputInUse(_in_use_message(output, read_lock(output) or {}))


def _release(output: str, run_id: str, created: bool) -> None:
    """Delete the lock if it is still ours; remove `output` again if this run made it and
    left nothing in it (a failed first run)."""
    holder = read_lock(output)
    if holder is not None and holder.get("run_id") == run_id:
        FileSystems.delete([FileSystems.join(output, LOCK_NAME)])
    if created and is_local(output):
        try:
            os.rmdir(output)
        except OSError:  # not empty: it holds this run's output
            pass
