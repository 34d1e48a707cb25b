"""The vector-conversion job on a synthetic 1,000,000 x 300 word2vec text file (~2.9 GB)
with `--prune 50000`, against `init vectors` and spaCy's `init vectors` on the same file
(issue 14's "must show"):

    nice -n 5 python benchmarks/convert_vectors_1m.py [--rows 1000000] [--dims 300]
        [--prune 50000] [--work-dir /tmp/nlp_core_bench_convert_vectors]
        [--spacy-python /work/spacy-venv/bin/python] [--cap-s 1800]
        [--runs init,job_mp2,job_memory,spacy] [--keep-file]

The file is written once into --work-dir (never into the repository) by numpy: unique
words, 300 numbers of 6 decimals in (-1, 1) per row. Each run is a fresh child process of a
small Python parent that reports the wall time and the largest `ru_maxrss` of the run's
processes (the parent is small, so a forked child does not inherit a large peak); the job's
own `run_summary.json` adds the peak RSS of each worker process and of the launcher, and
each worker's idle RSS before its first piece of work (`peak_rss_mb`: `launcher`,
`workers`, `workers_idle`). A run that does not finish within --cap-s seconds (default 30 min) is
killed and reported as "did not finish". Runs:

    init        python -m nlp_core init vectors en FILE OUT --prune N     (the baseline)
    job_mp2     python -m beam_jobs.convert_vectors --input FILE --output OUT --prune N
                    --direct_running_mode=multi_processing --direct_num_workers=2
    job_memory  the same on FnApiRunner in memory (one process)
    spacy       SPACY_PYTHON -m spacy init vectors en FILE OUT --prune N

Wall times are also given as ratios to `init` measured in the same run (the machine is
shared: absolute seconds are noisy). The job's outputs are compared with `init`'s (table
bytes, key2row, vectors.cfg, strings.json). One JSON line per run goes to stdout and to
WORK_DIR/results.jsonl as each run ends, so a partial run keeps what it measured.
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMPARED = ("vocab/vectors", "vocab/key2row", "vocab/vectors.cfg", "vocab/strings.json",
            "meta.json", "config.cfg")
GEN_ROWS = 10_000  # rows generated at once (~30 MB of text)

# Runs COMMAND with a cap; prints wall seconds, the largest ru_maxrss (KiB) of the
# processes it waited for, and whether it finished.
MEASURE = """
import os, resource, signal, subprocess, sys, time
cap = float(sys.argv[1])
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(os.environ[
    "BENCH_STDERR"], "wb"), start_new_session=True)
try:
    code = child.wait(timeout=cap)
    finished = True
except subprocess.TimeoutExpired:
    os.killpg(child.pid, signal.SIGKILL)
    code = child.wait()
    finished = False
wall = time.perf_counter() - start
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, int(finished), code)
"""


def write_word2vec_text(path: Path, rows: int, dims: int, seed: int = 0) -> None:
    """`rows` x `dims` word2vec text at `path`: header, then `word v1 ... vdims` rows with
    numbers like -0.123456 / 0.654321 (digits made by numpy, not by formatting)."""
    import numpy

    rng = numpy.random.default_rng(seed)
    partial = path.with_suffix(".partial")
    letters = numpy.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=numpy.uint8)
    powers = 10 ** numpy.arange(5, -1, -1)
    with partial.open("wb") as out:
        out.write(f"{rows} {dims}\n".encode())
        for start in range(0, rows, GEN_ROWS):
            n = min(GEN_ROWS, rows - start)
            values = rng.integers(0, 1_000_000, size=(n, dims))
            negative = rng.random((n, dims)) < 0.5
            # each field as 9 bytes "-0.dddddd " (the '-' slot dropped when positive)
            cells = numpy.empty((n, dims, 10), dtype=numpy.uint8)
            cells[:, :, 0] = ord("-")
            cells[:, :, 1] = ord("0")
            cells[:, :, 2] = ord(".")
            cells[:, :, 3:9] = (values[:, :, None] // powers) % 10 + ord("0")
            cells[:, :, 9] = ord(" ")
            cells[:, -1, 9] = ord("\n")
            keep = numpy.ones((n, dims, 10), dtype=bool)
            keep[:, :, 0] = negative
            lengths = keep.reshape(n, -1).sum(axis=1)
            data = cells[keep].tobytes()
            ends = numpy.cumsum(lengths).tolist()
            word_len = rng.integers(2, 9, size=n)
            word_chars = letters[rng.integers(0, 26, size=(n, 8))]
            begin = 0
            for i, end in enumerate(ends):
                word = word_chars[i, :word_len[i]].tobytes() + b"%d " % (start + i)
                out.write(word)
                out.write(data[begin:end])
                begin = end
    partial.rename(path)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as file_:
        for block in iter(lambda: file_.read(8 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def measure(command, cap_s: float, stderr_path: Path, env=None) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(cap_s), *map(str, command)],
                          capture_output=True, text=True,
                          env={**(env or os.environ), "BENCH_STDERR": str(stderr_path)})
    if done.returncode != 0:
        raise SystemExit(f"the measuring parent failed:\n{done.stderr}")
    wall, rss_kib, finished, code = done.stdout.split()
    result = {"wall_s": round(float(wall), 1), "max_rss_mb": round(int(rss_kib) / 1024, 1),
              "finished": finished == "1", "exit_code": int(code)}
    if not result["finished"]:
        result["note"] = f"did not finish in {cap_s / 60:.0f} min (killed)"
    elif result["exit_code"] != 0:
        result["note"] = "failed: " + stderr_path.read_text(errors="replace")[-1500:]
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, default=300)
    parser.add_argument("--prune", type=int, default=50_000)
    parser.add_argument("--work-dir", type=Path,
                        default=Path("/tmp/nlp_core_bench_convert_vectors"))
    parser.add_argument("--spacy-python", default=os.environ.get(
        "NLP_CORE_SPACY_PYTHON", "/work/spacy-venv/bin/python"))
    parser.add_argument("--cap-s", type=float, default=1800.0,
                        help="seconds after which a run is killed (default 30 min)")
    parser.add_argument("--runs", default="init,job_mp2,job_memory,spacy")
    parser.add_argument("--keep-file", action="store_true",
                        help="keep the generated vector file (and outputs) for another run")
    options = parser.parse_args(argv)
    work = options.work_dir
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"synthetic_{options.rows}x{options.dims}.txt"
    if not path.exists():
        start = time.perf_counter()
        write_word2vec_text(path, options.rows, options.dims)
        print(f"wrote {path} ({path.stat().st_size / 2**30:.2f} GiB) in "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    python = sys.executable
    # workers Beam starts must import this checkout's beam_jobs
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    prune = ["--prune", str(options.prune)]
    commands = {
        "init": [python, "-m", "nlp_core", "init", "vectors", "en", path, work / "init",
                 *prune],
        "job_mp2": [python, "-m", "beam_jobs.convert_vectors", "--input", path,
                    "--output", work / "job_mp2", *prune, "--overwrite",
                    "--direct_running_mode=multi_processing", "--direct_num_workers=2"],
        "job_memory": [python, "-m", "beam_jobs.convert_vectors", "--input", path,
                       "--output", work / "job_memory", *prune, "--overwrite",
                       "--runner=FnApiRunner"],
        "spacy": [options.spacy_python, "-m", "spacy", "init", "vectors", "en", path,
                  work / "spacy", *prune],
    }
    table_mb = min(options.prune or options.rows, options.rows) * options.dims * 4 / 2**20
    results = {}
    log = (work / "results.jsonl").open("a")
    for name in options.runs.split(","):
        out = work / name
        shutil.rmtree(out, ignore_errors=True)
        result = measure(commands[name], options.cap_s, work / f"{name}.stderr", env)
        result.update(run=name, command=" ".join(map(str, commands[name])),
                      rows=options.rows, dims=options.dims, prune=options.prune,
                      file_gib=round(path.stat().st_size / 2**30, 2),
                      kept_table_mb=round(table_mb, 1))
        if name.startswith("job") and (out / "run_summary.json").exists():
            summary = json.loads((out / "run_summary.json").read_text())
            result["peak_rss_mb"] = summary.get("peak_rss_mb")
            result["reconciled"] = summary.get("reconciled")
        if "init" in results and results["init"]["finished"] and result["finished"]:
            result["wall_x_init"] = round(result["wall_s"] / results["init"]["wall_s"], 2)
            if name.startswith("job") and result["exit_code"] == 0:
                result["same_as_init"] = {
                    f: _digest(out / f) == _digest(work / "init" / f) for f in COMPARED}
        results[name] = result
        line = json.dumps(result)
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()
    log.close()
    if not options.keep_file:
        path.unlink()
        for name in commands:
            shutil.rmtree(work / name, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
