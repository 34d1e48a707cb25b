"""Opening corpus files: plain, gzip, bzip2, xz or zstd (detected by content), UTF-8,
line by line."""
import bz2
import gzip
import io
import lzma
import zlib
from pathlib import Path
from typing import IO, BinaryIO, Iterator, NamedTuple, Union

import zstandard

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
# Compressed file suffixes looked through when a file's format is told by its name.
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
# What reading a damaged compressed file raises (besides OSError and EOFError).
DECOMPRESSION_ERRORS = (zlib.error, lzma.LZMAError, zstandard.ZstdError)


def _open_binary(path: Path) -> BinaryIO:
    with path.open("rb") as probe:
        head = probe.read(6)
    if head.startswith(GZIP_MAGIC):
        return gzip.open(path, "rb")
    if head.startswith(b"BZh"):
        return bz2.open(path, "rb")
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.open(path, "rb")
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        raw = path.open("rb")
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True,
                                                            closefd=True)
        return io.BufferedReader(reader)
    return path.open("rb")


def open_text(path: Union[str, Path], mode: str = "r") -> IO[str]:
    """Open a UTF-8 text file for reading ("r", compression detected from the content) or writing
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
