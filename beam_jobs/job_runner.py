"""What every job's `run` and `main` share: the life cycle of --output and the command line.

`run_committed` holds --output's lock for the run, removes the debris of killed runs,
runs the pipeline into the staging area and swaps the new output in only when that
succeeded (output_dir.py, output_lock.py); whatever ends the run early (an error,
KeyboardInterrupt) removes the staging area and releases the lock.

`main` is a job's command line: `--help`, an error that names the flag or file to fix
(exit 2), Ctrl-C as one line (exit 130, Beam's logged traceback of the interrupt dropped),
else the job's report lines.
"""
import importlib
import logging
import sys
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from . import output_dir, output_lock
from .output_dir import OutputDir

Summary = Dict[str, Any]


def run_committed(output: str, out: OutputDir, run_staged: Callable[[], Summary],
                  entries: Optional[Sequence[str]] = None,
                  after_commit: Optional[Callable[[], None]] = None) -> Summary:
    """Run `run_staged` (which writes into `out`'s staging area) with --output locked;
    commit its output (the job's `entries`, default the annotate job's) when it returns,
    then call `after_commit` (e.g. to delete a resumable run's partial area), still
    holding the lock."""
    skip_ipython_probe()
    with output_lock.locked(output, out.run_id):
        output_dir.remove_debris(out)
        try:
            summary = run_staged()
            if entries is None:
                output_dir.commit(out)
            else:
                output_dir.commit(out, entries)
            if after_commit is not None:
                after_commit()
        finally:
            output_dir.discard(out)
    return summary


# where Beam asks whether it runs inside IPython (its own references to the function)
_IPYTHON_PROBES = ("apache_beam.utils.interactive_utils", "apache_beam.pipeline",
                   "apache_beam.runners.direct.direct_runner")


def skip_ipython_probe() -> None:
    """Beam asks whether it runs inside IPython at every transform it applies and when a
    pipeline ends, by importing IPython: where IPython is installed but not running, that
    import costs about 0.3 s of a job's start-up (a quarter of Beam's own import).
    An IPython shell that is running has been imported, so the probe is skipped while
    `IPython` is not in sys.modules and asked as before once it is. Modules of Beam that
    lack the function (another Beam version) are left as they are."""
    for name in _IPYTHON_PROBES:
        module = importlib.import_module(name)
        probe = getattr(module, "is_in_ipython", None)
        if probe is None or getattr(probe, "skips_unimported", False):
            continue
        module.is_in_ipython = _unless_unimported(probe)


def _unless_unimported(probe: Callable[[], bool]) -> Callable[[], bool]:
    def is_in_ipython() -> bool:
        return "IPython" in sys.modules and probe()

    is_in_ipython.skips_unimported = True
    return is_in_ipython


def main(argv: Optional[Sequence[str]], run: Callable[[List[str]], Summary],
         report_lines: Callable[[Summary], List[str]], help_parser: Callable) -> int:
    """A job's command line (see the module docstring); the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or "-h" in argv or "--help" in argv:
        help_parser().print_help()
        return 0
    logging.getLogger().setLevel(logging.WARNING)
    try:
        with _no_interrupt_tracebacks():
            summary = run(argv)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BaseException as err:
        if not interrupted(err):
            raise
        print("interrupted: the run stopped before finishing; --output was left as it was.",
              file=sys.stderr)
        return 130
    for line in report_lines(summary):
        print(line)
    return 0


class _DropInterrupts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and record.exc_info[1] is not None
                    and interrupted(record.exc_info[1]))


@contextmanager
def _no_interrupt_tracebacks() -> Iterator[None]:
    """Ctrl-C prints one line: Beam logs an exception raised inside a step, with its
    traceback, before re-raising it; such logs are dropped when the exception is the
    KeyboardInterrupt (every other error is still logged)."""
    drop = _DropInterrupts()
    handlers = logging.getLogger().handlers or [logging.lastResort]
    for handler in handlers:
        handler.addFilter(drop)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(drop)


def interrupted(err: BaseException) -> bool:
    """Ctrl-C: a KeyboardInterrupt, also when Beam re-raised it from inside a step as
    another exception (it keeps the original as the cause or context)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False
