"""Picking documents out of the annotate job's Parquet output for `display`, reading only
what the page needs.

Two passes over the `annotations` files (schemas/README.md):

1. Find the rows: with `--doc-id`, only the `doc_id` column, and only of the row groups
   whose min/max statistics can hold a requested id; with `--where`, only the columns the
   filter names, batch by batch, stopping at `--limit` matches; with neither, the first
   rows, from the files' metadata alone.
2. Read the chosen rows: only the row groups that hold them and only the columns the style
   draws, in batches, keeping just those rows.

So memory stays within a batch plus the chosen rows, and the time depends on the row groups
holding the documents, not on the size of the table. Files are opened through `opener`
(default: the file itself), which tests use to check which bytes were read.
"""
import glob
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .display_data import DisplayDataError, DisplayDoc, from_row
from .display_where import Filter
from .errors import Errors

SCHEMA_KEY = b"nlp_core.schema"
BATCH_ROWS = 2048
BATCH_BYTES = 32 << 20  # decoded bytes per batch at most, as far as the metadata tells
MAX_DOCS = 1000
MAX_SUMMARY_BYTES = 1 << 20
BASE_COLUMNS = ("doc_id", "source", "offset", "text", "token_start", "token_end", "pipeline")
STYLE_COLUMNS = {"dep": ("tag", "pos", "lemma", "dep", "head", "sent_start"),
                 "ent": ("ents",), "span": ("spans",)}


@dataclass
class Selection:
    """What `select` found: the documents (or the reason one cannot be drawn), in order."""

    docs: List[DisplayDoc] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    missing_ids: List[str] = field(default_factory=list)
    files: List[str] = field(default_factory=list)
    total_rows: int = 0
    more: bool = False  # --where matched more rows than --limit


def find_files(pattern: str) -> List[str]:
    """The annotation files a PARQUET_GLOB names: a glob, a file, the job's output directory
    or its annotations/ folder."""
    if os.path.isdir(pattern):
        inner = os.path.join(pattern, "annotations")
        folder = inner if os.path.isdir(inner) else pattern
        pattern = os.path.join(folder, "*.parquet")
    paths = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    if not paths:
        raise ValueError(Errors.E587.format(pattern=pattern))
    return paths


def _open(path: str, opener: Optional[Callable[[str], Any]]) -> pq.ParquetFile:
    try:
        source = opener(path) if opener is not None else path
        parquet = pq.ParquetFile(source, pre_buffer=False)
    except (OSError, pa.ArrowException) as err:
        raise ValueError(Errors.E588.format(path=path, reason=str(err).rstrip("."))) from None
    metadata = parquet.schema_arrow.metadata or {}
    if metadata.get(SCHEMA_KEY) != b"annotations":
        found = metadata.get(SCHEMA_KEY, b"no nlp_core.schema in its metadata")
        raise ValueError(Errors.E588.format(path=path, reason=f"its table is "
                                            f"{found.decode('utf8', 'replace')!r}"))
    for name in ("doc_id", "token_start", "token_end"):
        if name not in parquet.schema_arrow.names:
            raise ValueError(Errors.E588.format(path=path, reason=f"no {name!r} column"))
    return parquet


def _id_in_range(parquet: pq.ParquetFile, group: int, column: int, ids: Sequence[str]) -> bool:
    stats = parquet.metadata.row_group(group).column(column).statistics
    if stats is None or not stats.has_min_max:
        return True
    low, high = stats.min, stats.max
    if isinstance(low, bytes):
        low, high = low.decode("utf8", "replace"), high.decode("utf8", "replace")
    return any(low <= i <= high for i in ids)


def _find_by_id(parquet: pq.ParquetFile, ids: Sequence[str],
                found: List[Tuple[int, int]]) -> None:
    """Appends (row group, row) of every row whose doc_id is in `ids`."""
    column = parquet.schema_arrow.names.index("doc_id")
    wanted = pa.array(list(ids), type=pa.string())
    for group in range(parquet.metadata.num_row_groups):
        if not _id_in_range(parquet, group, column, ids):
            continue
        doc_ids = parquet.read_row_group(group, columns=["doc_id"]).column(0)
        doc_ids = pc.cast(doc_ids, pa.string())
        for row in pc.indices_nonzero(pc.is_in(doc_ids, value_set=wanted)).to_pylist():
            found.append((group, row))


def _batch_rows(parquet: pq.ParquetFile, group: int, columns: Sequence[str]) -> int:
    """Rows per batch: BATCH_ROWS, fewer where the rows are large (documents of up to a
    million characters), so that a batch holds about BATCH_BYTES."""
    metadata = parquet.metadata.row_group(group)
    names = set(columns)
    size = sum(metadata.column(c).total_uncompressed_size for c in range(metadata.num_columns)
               if metadata.column(c).path_in_schema.split(".")[0] in names)
    per_row = size / max(metadata.num_rows, 1)
    return max(1, min(BATCH_ROWS, int(BATCH_BYTES / max(per_row, 1.0))))


def _find_by_filter(parquet: pq.ParquetFile, where: Filter, limit: int,
                    found: List[Tuple[int, int]]) -> bool:
    """Appends matching rows until `limit`; True when more rows may match."""
    columns = sorted(where.columns) or ["doc_id"]
    for group in range(parquet.metadata.num_row_groups):
        row = 0
        for batch in parquet.iter_batches(batch_size=_batch_rows(parquet, group, columns),
                                          row_groups=[group], columns=columns):
            for index in pc.indices_nonzero(where.mask(batch)).to_pylist():
                if len(found) == limit:
                    return True
                found.append((group, row + index))
            row += batch.num_rows
    return False


def _read_rows(parquet: pq.ParquetFile, rows: Sequence[Tuple[int, int]],
               columns: List[str]) -> Dict[Tuple[int, int], Dict[str, Any]]:
    """The chosen rows as dicts, reading only their row groups, batch by batch."""
    result: Dict[Tuple[int, int], Dict[str, Any]] = {}
    by_group: Dict[int, List[int]] = {}
    for group, row in rows:
        by_group.setdefault(group, []).append(row)
    for group, wanted in sorted(by_group.items()):
        wanted_set, start = set(wanted), 0
        last = max(wanted)
        for batch in parquet.iter_batches(batch_size=_batch_rows(parquet, group, columns),
                                          row_groups=[group], columns=columns):
            end = start + batch.num_rows
            inside = sorted(r for r in wanted_set if start <= r < end)
            if inside:
                taken = batch.take(pa.array([r - start for r in inside], type=pa.int64()))
                for r, values in zip(inside, taken.to_pylist()):
                    result[(group, r)] = values
            start = end
            if start > last:  # the rest of the row group holds none of them
                break
    return result


def select(pattern: str, *, style: str = "dep", doc_ids: Sequence[str] = (),
           where: Optional[str] = None, limit: Optional[int] = None, max_tokens: int = 2000,
           also_styles: Sequence[str] = (),
           opener: Optional[Callable[[str], Any]] = None) -> Selection:
    """The documents of the annotation files matching `pattern` that `doc_ids` and `where`
    select (both: rows meeting both), at most `limit` (default: every requested id, or 20),
    each a DisplayDoc or, for a row that cannot be drawn, an entry in `errors`. The columns
    read are those `style` draws, and those of `also_styles`."""
    for name in (style, *also_styles):
        if name not in STYLE_COLUMNS:
            raise ValueError(Errors.E580.format(style=name, styles=", ".join(STYLE_COLUMNS)))
    wanted = [c for name in (style, *also_styles) for c in STYLE_COLUMNS[name]]
    if limit is None:
        limit = min(len(set(doc_ids)), MAX_DOCS) if doc_ids else 20
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_DOCS:
        raise ValueError(Errors.E592.format(limit=limit, most=MAX_DOCS))
    selection = Selection(files=find_files(pattern))
    ids = list(dict.fromkeys(doc_ids))
    picked: List[Tuple[int, int, int, Dict[str, Any]]] = []  # (file, group, row, values)
    where_filter: Optional[Filter] = None
    for number, path in enumerate(selection.files):
        parquet = _open(path, opener)
        selection.total_rows += parquet.metadata.num_rows
        if len(picked) >= limit:
            selection.more |= where is not None or bool(ids)
            continue
        if where is not None:
            where_filter = Filter(where, parquet.schema_arrow)
        found: List[Tuple[int, int, int, Dict[str, Any]]] = []
        try:
            selection.more |= _pick(parquet, number, ids, where_filter, limit - len(picked),
                                    wanted, found)
        except (OSError, pa.ArrowException) as err:
            # a damaged page: this file's rows are left out, the others still shown
            selection.errors.append(Errors.E596.format(path=path, reason=str(err).rstrip(".")))
            continue
        picked.extend(found)
    if ids:
        order = {doc_id: k for k, doc_id in enumerate(ids)}
        picked.sort(key=lambda p: (order.get(p[3].get("doc_id"), len(order)), p[:3]))
        seen = {p[3].get("doc_id") for p in picked}
        selection.missing_ids = [i for i in ids if i not in seen]
        if len(picked) > limit:
            selection.more = True
    for _, _, _, row in picked[:limit]:
        try:
            selection.docs.append(from_row(row, max_tokens=max_tokens))
        except DisplayDataError as err:
            selection.errors.append(str(err))
    return selection


def _pick(parquet: pq.ParquetFile, number: int, ids: Sequence[str], where: Optional[Filter],
          limit: int, wanted: Sequence[str],
          picked: List[Tuple[int, int, int, Dict[str, Any]]]) -> bool:
    """Adds file `number`'s chosen rows to `picked`; True when more rows may match."""
    schema = parquet.schema_arrow
    found: List[Tuple[int, int]] = []
    more = False
    if ids:
        _find_by_id(parquet, ids, found)
        if where is not None and found:
            found = _keep_matching(parquet, where, found)
    elif where is not None:
        more = _find_by_filter(parquet, where, limit, found)
    else:
        _first_rows(parquet, limit, found)
    columns = [c for c in (*BASE_COLUMNS, *wanted) if c in schema.names]
    values = _read_rows(parquet, found, columns)
    picked.extend((number, g, r, values[(g, r)]) for g, r in found)
    return more


def _keep_matching(parquet: pq.ParquetFile, where: Filter,
                   found: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    columns = sorted(where.columns) or ["doc_id"]
    values = _read_rows(parquet, found, columns)
    rows = [values[key] for key in found]
    batch = pa.RecordBatch.from_pylist(rows, schema=pa.schema(
        [parquet.schema_arrow.field(c) for c in columns]))
    mask = where.mask(batch).to_pylist()
    return [key for key, keep in zip(found, mask) if keep]


def _first_rows(parquet: pq.ParquetFile, limit: int, found: List[Tuple[int, int]]) -> None:
    for group in range(parquet.metadata.num_row_groups):
        n = parquet.metadata.row_group(group).num_rows
        for row in range(min(n, limit - len(found))):
            found.append((group, row))
        if len(found) >= limit:
            return


def run_summaries(files: Sequence[str]) -> List[Tuple[str, Any]]:
    """(path, parsed JSON or an error message) of each run_summary.json beside the files'
    annotations/ folders (OUTPUT/run_summary.json)."""
    result = []
    seen = set()
    for path in files:
        folder = os.path.dirname(os.path.abspath(path))
        candidate = os.path.join(os.path.dirname(folder), "run_summary.json")
        if candidate in seen or not os.path.isfile(candidate):
            continue
        seen.add(candidate)
        try:
            with open(candidate, "rb") as file_:
                raw = file_.read(MAX_SUMMARY_BYTES + 1)
            if len(raw) > MAX_SUMMARY_BYTES:
                raise ValueError(f"larger than {MAX_SUMMARY_BYTES} bytes")
            result.append((candidate, json.loads(raw.decode("utf8"))))
        except (OSError, ValueError) as err:
            result.append((candidate, f"cannot be read: {err}"))
    return result
