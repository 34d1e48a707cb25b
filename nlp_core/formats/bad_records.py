"""What readers do with a bad record: raise, skip (counted), or hand it to a callable.

Every reader takes `on_error="raise" | "skip" | callable`. The callable receives one
`BadRecord(path, line_number, raw_line, reason)`, so a Beam job can route the record to a
dead-letter output and carry on.
"""
import warnings
from typing import Callable, NamedTuple, Union

from ..errors import Errors, Warnings


class BadRecord(NamedTuple):
    """A record a reader could not use.

    Attributes:
        path: the source file.
        line_number: 1-based line where the record starts (or the bad line of a sentence).
        raw_line: the offending text (the bad line, not the whole sentence).
        reason: why it was rejected, without the path and line prefix.
    """

    path: str
    line_number: int
    raw_line: str
    reason: str

    def message(self) -> str:
        return Errors.E159.format(path=self.path, line=self.line_number, reason=self.reason)


OnError = Union[str, Callable[[BadRecord], object]]


class BadRecordPolicy:
    """Applies one `on_error` choice for one file and counts what it skipped.

    Args:
        on_error: "raise" (ValueError with file and line), "skip" (count, warn once at the
            end) or a callable taking a BadRecord.
        path: the file being read, for messages.
    """

    def __init__(self, on_error: OnError, path: str):
        if not (on_error in ("raise", "skip") or callable(on_error)):
            raise ValueError(Errors.E158.format(value=on_error))
        self.on_error = on_error
        self.path = path
        self.n_skipped = 0
        self.first_reason = ""

    def __call__(self, line_number: int, raw_line: str, reason: str) -> None:
        """Report one bad record: raises for "raise", else records it and returns."""
        record = BadRecord(self.path, line_number, raw_line.rstrip("\r\n"), reason)
        if self.on_error == "raise":
            raise ValueError(record.message())
        self.n_skipped += 1
        if not self.first_reason:
            self.first_reason = record.message()
        if callable(self.on_error):
            self.on_error(record)

    def finish(self) -> None:
        """Warn once about skipped records (only for "skip"; a callable saw each one)."""
        if self.on_error == "skip" and self.n_skipped:
            warnings.warn(Warnings.W001.format(n=self.n_skipped, path=self.path,
                                               reason=f"first: {self.first_reason}"),
                          stacklevel=3)
