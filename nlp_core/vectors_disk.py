"""A vectors table on disk, in spaCy's layout (what `spacy init vectors` writes to `vocab/`):

    vectors       the table: .npy (no suffix), little-endian float32 (rows, width)
    key2row       msgpack map {key (uint64): row (int)} (default mode)
    vectors.cfg   JSON {"mode": "default" | "floret", floret: "minn", "maxn", "hash_count",
                  "hash_seed", "bow", "eow", "attr": the key attribute's ID (ORTH 65, LOWER
                  66, NORM 67), an int as spaCy reads it}; ours adds "name", which spaCy
                  ignores; a file without "attr" means ORTH, and a name ("LOWER") is read too
    strings.json  the strings (optional: a Vocab writes its own there)

The .npy file is read with `allow_pickle=False` and may be memory-mapped; `NpyRows` writes
one row block at a time (a table whose size is not known in advance, never held whole); older spaCy
directories with a `keys` .npy (one key per row) instead of `key2row` are read too. A file
that is missing or does not parse raises E070 naming it.
"""
import io
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Sequence, Tuple

import numpy
import srsly

from .errors import Errors
from .pipeline_files import UnreadableFileError, parsing, read_json
from .strings import StringStore

if TYPE_CHECKING:
    from .vectors import Vectors

FLORET_SETTINGS = ("minn", "maxn", "hash_count", "hash_seed", "bow", "eow")
MMAP_MODES = (None, "r", "c")


def vectors_cfg(vectors: "Vectors") -> dict:
    """The contents of vectors.cfg."""
    cfg = {"mode": vectors.mode}
    if vectors.mode == "floret":
        cfg.update({name: getattr(vectors, name) for name in FLORET_SETTINGS})
    cfg["attr"] = int(vectors.attr)  # spaCy assigns it to an int field: a name breaks spacy.load
    if vectors.name is not None:
        cfg["name"] = vectors.name
    return cfg


def write_vectors(vectors: "Vectors", path: Path, *, exclude: Sequence[str] = (),
                  table_file: Path | None = None) -> None:
    """Write `vectors` into the directory `path` (created if needed).

    Args:
        table_file: the table, already written as a .npy file (`NpyRows`) on the same
            file system: moved in as `vectors` instead of writing `vectors.data` (which is
            then never read).
    """
    path.mkdir(parents=True, exist_ok=True)
    if table_file is not None:
        table_file.replace(path / "vectors")
    else:
        data = vectors.data
        if not isinstance(data, numpy.ndarray):
            data = data.get()  # cupy -> host
        with (path / "vectors").open("wb") as file_:
            numpy.save(file_, numpy.asarray(data, dtype="<f4"), allow_pickle=False)
    srsly.write_msgpack(path / "key2row", vectors.key2row)
    srsly.write_json(path / "vectors.cfg", vectors_cfg(vectors))
    if "strings" not in exclude:
        vectors.strings.to_disk(path / "strings.json")


class NpyRows:
    """A float32 (rows, width) .npy file written one block of rows at a time, the same
    bytes as `numpy.save` of the whole table: the header is written for 0 rows and
    rewritten with the final count by `finish` (numpy pads the header so that the first
    dimension can grow to 21 digits in place). Plain sequential writes go to the page
    cache, not this process's memory, so a table of unknown size is never held whole (a
    writable memory map would count its dirty pages to the process)."""

    def __init__(self, path: Path, width: int):
        self.path = path
        self.width = int(width)
        self.n = 0
        self._header_size = len(self._header(0))
        self._file = path.open("wb")
        self._file.write(self._header(0))

    def _header(self, rows: int) -> bytes:
        buffer = io.BytesIO()
        numpy.lib.format.write_array_header_1_0(
            buffer, {"descr": "<f4", "fortran_order": False, "shape": (rows, self.width)})
        return buffer.getvalue()

    def append(self, rows: numpy.ndarray) -> None:
        """Write float (n, width) `rows` after those written so far."""
        rows = numpy.ascontiguousarray(rows, dtype="<f4")
        if rows.ndim != 2 or rows.shape[1] != self.width:
            raise ValueError(Errors.E062.format(got=f"rows of shape {rows.shape} for a table "
                                                f"of width {self.width}"))
        if len(rows):
            self._file.write(memoryview(rows).cast("B"))
            self.n += len(rows)

    def finish(self):
        """Write the final header and close the file; returns the table, memory-mapped
        read-only (nothing of it is read until used)."""
        header = self._header(self.n)
        if len(header) != self._header_size:  # a row count of over 21 digits
            self.close()
            raise ValueError(Errors.E070.format(path=self.path, detail=(
                f"a table of {self.n} rows does not fit the .npy header written for it")))
        self._file.seek(0)
        self._file.write(header)
        self.close()
        if self.n == 0:  # nothing to map
            return numpy.zeros((0, self.width), dtype=numpy.float32)
        return read_table(self.path, "r")

    def close(self) -> None:
        """Close the file (again: nothing happens)."""
        if not self._file.closed:
            self._file.close()


def pack_key2row(keys: numpy.ndarray, rows: numpy.ndarray) -> bytes:
    """The msgpack map {key: row} in the order given, byte for byte what
    `srsly.msgpack_dumps(dict(zip(keys, rows)))` writes, without building the dict.

    Args:
        keys: uint64 (n,), distinct.
        rows: int (n,), each >= 0.
    """
    return b"".join(_key2row_parts(keys, rows))


def write_key2row(path: Path, keys: numpy.ndarray, rows: numpy.ndarray | None) -> None:
    """Write `pack_key2row(keys, rows)` to the file `path`, a chunk at a time (`rows` None:
    key i is on row i)."""
    with path.open("wb") as file_:
        for part in _key2row_parts(keys, rows):
            file_.write(part)


def _key2row_parts(keys: numpy.ndarray, rows: numpy.ndarray | None, chunk: int = 1 << 14):
    keys = numpy.asarray(keys, dtype=numpy.uint64).reshape(-1)
    rows = (numpy.arange(len(keys), dtype=numpy.uint64) if rows is None
            else numpy.asarray(rows, dtype=numpy.uint64).reshape(-1))
    n = len(keys)
    if n != len(rows):
        raise ValueError(Errors.E068.format(given=f"{n} keys, {len(rows)} rows"))
    if n < 16:
        yield bytes([0x80 | n])
    elif n < 1 << 16:
        yield b"\xde" + n.to_bytes(2, "big")
    else:
        yield b"\xdf" + n.to_bytes(4, "big")
    for start in range(0, n, chunk):
        both = numpy.stack([keys[start:start + chunk], rows[start:start + chunk]],
                           axis=1).reshape(-1)
        yield _pack_uints(both)


def _pack_uints(values: numpy.ndarray) -> bytes:
    """uint64 values, each in msgpack's smallest form: a positive fixint below 128, else
    0xcc / 0xcd / 0xce / 0xcf and 1 / 2 / 4 / 8 big-endian bytes."""
    width = numpy.select([values < 128, values < 1 << 8, values < 1 << 16, values < 1 << 32],
                         [0, 1, 2, 4], 8).astype(numpy.int64)
    starts = numpy.concatenate([[0], numpy.cumsum(width + 1)])
    out = numpy.empty(starts[-1], dtype=numpy.uint8)
    big_endian = values.astype(">u8").view(numpy.uint8).reshape(-1, 8)
    for size, marker in ((0, None), (1, 0xCC), (2, 0xCD), (4, 0xCE), (8, 0xCF)):
        at = numpy.flatnonzero(width == size)
        if not len(at):
            continue
        if marker is None:
            out[starts[at]] = values[at]
            continue
        out[starts[at]] = marker
        out[starts[at, None] + numpy.arange(1, size + 1)] = big_endian[at, 8 - size:]
    return out.tobytes()


def _fail(path: Path, detail: str) -> UnreadableFileError:
    return UnreadableFileError(Errors.E070.format(path=path, detail=detail))


def read_vectors(path: Path, *, exclude: Sequence[str] = (), mmap_mode: str | None = None
                 ) -> Tuple[dict, numpy.ndarray, Dict[int, int], StringStore | None]:
    """Read the directory `path`.

    Returns:
        (the settings of vectors.cfg ({} when there is none), the float32 table (rows,
        width), key -> row ({} in floret mode), the strings of strings.json or None).
    """
    if mmap_mode not in MMAP_MODES:
        raise ValueError(Errors.E070.format(
            path=path, detail=f"mmap_mode={mmap_mode!r} is not one of {MMAP_MODES}"))
    if not path.is_dir():
        raise OSError(Errors.E070.format(
            path=path, detail="it is not a directory; give the folder that holds `vectors`, "
                              "`key2row` and `vectors.cfg` (a pipeline's vocab/)"))
    cfg_path = path / "vectors.cfg"
    cfg = read_json(cfg_path, expect=dict) if cfg_path.exists() else {}
    data = read_table(path / "vectors", mmap_mode)
    floret = cfg.get("mode") == "floret"
    key2row = {} if floret else read_key2row(path, n_rows=data.shape[0])
    strings = None
    strings_path = path / "strings.json"
    if "strings" not in exclude and strings_path.exists():
        with parsing(strings_path):
            strings = StringStore().from_disk(strings_path)
    return cfg, data, key2row, strings


def bad_cfg(path: Path, detail: str) -> UnreadableFileError:
    """E070 naming vectors.cfg in the directory `path`."""
    return _fail(path / "vectors.cfg", detail)


def read_table(path: Path, mmap_mode: str | None):
    """The 2-d float32 table in the .npy file `path` (memory-mapped when `mmap_mode`)."""
    if not path.is_file():
        raise OSError(Errors.E070.format(
            path=path.parent, detail="it has no file `vectors` (the .npy table); write it "
                                     "with `init vectors` or `Vectors.to_disk`"))
    try:
        data = numpy.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except OSError:
        raise
    except Exception as err:  # numpy raises ValueError / EOFError for a bad or short file
        raise _fail(path, f"it is not a whole .npy array ({type(err).__name__}: {err}); "
                          "write it again with `init vectors` or `Vectors.to_disk`") from None
    if data.ndim != 2 or data.dtype.kind != "f":
        raise _fail(path, f"expected a 2-d float32 table, got {data.dtype} of shape "
                          f"{data.shape}")
    if data.dtype != numpy.float32:
        # another float type (e.g. big-endian or float16): converted, so no longer mapped
        data = numpy.asarray(data, dtype=numpy.float32)
    return data


def read_key2row(path: Path, *, n_rows: int) -> dict:
    """key -> row from `key2row` (or the older `keys` .npy), each row checked < n_rows."""
    key2row_path = path / "key2row"
    if key2row_path.is_file():
        with parsing(key2row_path):
            raw = srsly.msgpack_loads(key2row_path.read_bytes(), use_list=False)
        if not isinstance(raw, dict):
            raise _fail(key2row_path, f"expected a msgpack map key -> row, got "
                                      f"{type(raw).__name__}")
        try:
            keys = numpy.fromiter(raw.keys(), dtype=numpy.uint64, count=len(raw))
            rows = numpy.fromiter(raw.values(), dtype=numpy.int64, count=len(raw))
        except (TypeError, ValueError, OverflowError):
            raise _fail(key2row_path, "its keys and rows must be non-negative integers") \
                from None
        where = key2row_path
    elif (path / "keys").is_file():
        where = path / "keys"
        keys = read_keys_npy(where)
        if len(keys) > n_rows:
            raise _fail(where, f"it has {len(keys)} keys for a table of {n_rows} rows")
        rows = numpy.arange(len(keys), dtype=numpy.int64)
    elif n_rows == 0:
        return {}
    else:
        raise OSError(Errors.E070.format(
            path=path, detail="it has a table but no `key2row` (the msgpack map from key to "
                              "row); copy it along with `vectors`, or write the directory "
                              "again"))
    bad = (rows < 0) | (rows >= n_rows)
    if bad.any():
        first = int(numpy.argmax(bad))
        raise _fail(where, f"key {int(keys[first])} points at row {int(rows[first])}, but the "
                           f"table has {n_rows} rows; the files do not belong together")
    return dict(zip(keys.tolist(), rows.tolist()))


def read_keys_npy(path: Path) -> numpy.ndarray:
    try:
        keys = numpy.load(path, allow_pickle=False)
    except OSError:
        raise
    except Exception as err:
        raise _fail(path, f"it is not a .npy array of keys ({type(err).__name__})") from None
    if keys.ndim != 1 or keys.dtype.kind not in "iu":
        raise _fail(path, f"expected 1-d integer keys, got {keys.dtype} {keys.shape}")
    return keys.astype(numpy.uint64)
