"""Opening corpus files: plain or gzip (detected by content), UTF-8, line by line."""
import gzip
import io
from pathlib import Path
from typing import IO, BinaryIO, Iterator, NamedTuple, Union

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"


def _open_binary(path: Path) -> BinaryIO:
    with path.open("rb") as probe:
        is_gzip = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if is_gzip else path.open("rb")


def open_text(path: Union[str, Path], mode: str = "r") -> IO[str]:
    """Open a UTF-8 text file for reading ("r", gzip detected from the content) or writing
    ("w", gzip when the path ends in .gz)."""
    path = Path(path)
    if mode == "r":
        return io.TextIOWrapper(_open_binary(path), encoding="utf8", newline="")
    if mode == "w":
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path, "wb"), encoding="utf8", newline="")
        return path.open("w", encoding="utf8", newline="")
    raise ValueError(f"open_text mode must be 'r' or 'w', got {mode!r}.")


class Line(NamedTuple):
    """One line of a file: 1-based `number`, `text` without its line ending, and `error`
    ("" or why the bytes are not UTF-8; `text` then has U+FFFD replacements)."""

    number: int
    text: str
    error: str


def numbered_lines(path: Union[str, Path]) -> Iterator[Line]:
    """The file's lines. Only "\\n" (optionally after "\\r") ends a line, so other Unicode
    line breaks stay inside the text; a line that is not UTF-8 is reported, not fatal."""
    with _open_binary(Path(path)) as file_:
        for number, raw in enumerate(file_, start=1):
            if raw.endswith(b"\n"):
                raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM):]
            try:
                yield Line(number, raw.decode("utf8"), "")
            except UnicodeDecodeError as err:
                yield Line(number, raw.decode("utf8", "replace"), f"the line is not UTF-8 ({err})")
