"""Opening input files with every decompression failure reported, and bounded output.

Beam's own reader of compressed files (`CompressedFile`) stops quietly at the end of a
truncated stream, so the records after the cut vanish; it raises a bare `zlib.error` (naming
no file) on corrupt data; and it inflates each 16 MiB read at once, however far that goes.
`open_input` reads plain files as they are and decompresses the others here instead:

- at most BLOCK bytes come out of the decompressor per step, so a small file that inflates
  to gigabytes is read in bounded memory like any other;
- the input ending inside a stream (no gzip trailer, no bzip2/xz/zstd end marker) raises
  `TruncatedFile`; data the decompressor rejects (bad header, checksum or length) raises
  `CorruptFile`. Both carry the format and the detail, for a dead letter naming the file;
- concatenated streams (`cat a.gz b.gz`) are read one after the other, as gzip does, and so
  is NUL padding after a gzip member.

The compression type comes from the extension, as Beam's does (.gz, .bz2, .zst, .zstd,
.deflate, .xz, .lzma).
"""
import bz2
import io
import lzma
import zlib
from typing import BinaryIO, Iterator, Tuple

import zstandard
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

BLOCK = 1 << 20      # decompressed bytes per step at most
READ_SIZE = 1 << 16  # compressed bytes read at a time
# zstd's decompressobj takes no output bound, and one 4-byte RLE block inflates to 128 KiB:
# feeding it 1 KiB at a time keeps one step's output under ~32 MiB.
ZSTD_PIECE = 1 << 10
FORMAT_NAMES = {CompressionTypes.GZIP: "gzip", CompressionTypes.BZIP2: "bzip2",
                CompressionTypes.ZSTD: "zstd", CompressionTypes.DEFLATE: "deflate",
                CompressionTypes.LZMA: "xz/lzma"}
# what the decompressors raise on data they reject
_DATA_ERRORS = (zlib.error, OSError, EOFError, lzma.LZMAError, zstandard.ZstdError)


class UnreadableFile(Exception):
    """A compressed file that cannot be read to its end.

    Attributes:
        error_type: the dead-letter reason (`corrupt_file` or `truncated_file`).
        detail: what is wrong, in words.
    """

    error_type = ""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class CorruptFile(UnreadableFile):
    error_type = "corrupt_file"


class TruncatedFile(UnreadableFile):
    error_type = "truncated_file"


class _Stream:
    """One compressed stream (a gzip member, a bzip2 stream, a zstd frame, ...)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.started = False
        if kind == CompressionTypes.GZIP:
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif kind == CompressionTypes.DEFLATE:
            self._d = zlib.decompressobj()  # zlib-wrapped, as Beam writes .deflate
        elif kind == CompressionTypes.BZIP2:
            self._d = bz2.BZ2Decompressor()
        elif kind == CompressionTypes.LZMA:
            self._d = lzma.LZMADecompressor()
        else:
            assert kind == CompressionTypes.ZSTD, kind
            self._d = zstandard.ZstdDecompressor(max_window_size=1 << 31).decompressobj()

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    def step(self, data: bytes) -> Tuple[bytes, bytes]:
        """Decompress from `data` (b"" drains what the decompressor holds); returns (at most
        ~BLOCK bytes of output, the input not consumed yet)."""
        self.started = self.started or bool(data)
        if self.kind in (CompressionTypes.GZIP, CompressionTypes.DEFLATE):
            out = self._d.decompress(data, BLOCK)
            return out, self._d.unconsumed_tail
        if self.kind == CompressionTypes.ZSTD:
            return self._d.decompress(data[:ZSTD_PIECE]), data[ZSTD_PIECE:]
        return self._d.decompress(data, BLOCK), b""  # bz2 / lzma keep the rest inside


def _blocks(raw: BinaryIO, kind: str) -> Iterator[bytes]:
    """The decompressed data of `raw`, in blocks; raises UnreadableFile."""
    name = FORMAT_NAMES[kind]
    stream = _Stream(kind)
    data = b""
    while True:
        if not data:
            data = raw.read(READ_SIZE)
            if not data:
                if stream.started and not stream.eof:
                    raise TruncatedFile(f"the {name} data ends before the end of its stream "
                                        "(the file was cut short)")
                return
        if stream.eof:  # a complete stream is followed by more: the next stream, or padding
            if kind == CompressionTypes.GZIP:
                data = data.lstrip(b"\0")
                if not data:
                    continue
            stream = _Stream(kind)
        try:
            out, data = stream.step(data)
            while out:
                yield out
                if stream.eof:
                    break
                out, data = stream.step(data)
        except _DATA_ERRORS as err:
            raise CorruptFile(f"not valid {name} data ({err})") from None
        if stream.eof:
            data = stream.unused_data + data


class _DecompressedReader(io.RawIOBase):
    """The decompressed bytes of a file object, as a raw stream for io.BufferedReader."""

    def __init__(self, raw: BinaryIO, kind: str):
        super().__init__()
        self._raw = raw
        self._blocks = _blocks(raw, kind)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._pending = memoryview(block)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def open_input(path: str) -> BinaryIO:
    """`path` opened for reading: plain files as they are, compressed ones (by extension)
    decompressed by this module, so reads and readline raise UnreadableFile where the data
    is corrupt or cut short."""
    kind = CompressionTypes.detect_compression_type(path)
    raw = FileSystems.open(path, "application/octet-stream",
                           compression_type=CompressionTypes.UNCOMPRESSED)
    if kind == CompressionTypes.UNCOMPRESSED:
        return raw
    return io.BufferedReader(_DecompressedReader(raw, kind), buffer_size=BLOCK)
