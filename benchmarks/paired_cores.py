"""Two runs at the same time, one per core, cores swapped each round: ratios that the
machine's drift cancels out of.

    python benchmarks/paired_cores.py job --docs 48000 --rounds 4     # issue 20, item 2
    python benchmarks/paired_cores.py base --base 44571f1 --docs 16000 --rounds 4

This VM's speed drifts by up to 25% between runs minutes apart (benchmarks/README.md,
scaling.py), as much as the differences measured. Two processes started together, each
pinned to its own core (`taskset`), see the same drift, so the ratio of their times is
steady where the ratio of runs one after the other is not; which one gets which core is
swapped every round. It is not neutral: the two share the L3 cache and memory bandwidth, so
the run with more memory traffic loses more to its partner, and the process that finishes
first leaves the other alone for its last seconds. Compare with runs one after the other
(scaling.py) before concluding (benchmarks/README.md, paired_cores.py).

Modes (one corpus of EWT train text, `annotate_corpus.build` as scaling.py's):

    job     bare `nlp.pipe` (scaling.py's BARE: import, read, load, pipe at batch 256,
            numpy's BLAS on one thread) against the annotate job with one worker
            (`python -m beam_jobs.annotate --runner=FnApiRunner`, in memory, its defaults):
            item 2's job / bare, with the job's stage seconds from its run_summary.json
    base    the same bare `nlp.pipe` with the code at --base REV (a git worktree; the
            compiled extensions are copied from this checkout, so native/ must not differ)
            against this checkout's

Each run is a fresh process timed from launch to exit; its CPU seconds come from
`os.wait4`. The script needs two CPUs at least (the first two it may use are taken).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import annotate_corpus
from scaling import BARE_ENV, REPO, bare_command, job_command, job_summary

Command = Tuple[List[str], Path, Dict[str, str]]  # argv, working directory, environment


def _pair(a: Command, b: Command, cores: Tuple[int, int], logs: Path) -> Tuple[Dict, Dict]:
    """Run a on cores[0] and b on cores[1], started together; each one's wall seconds (to
    its own exit), CPU seconds (its children included, from wait4) and stdout."""
    started = time.perf_counter()
    running = {}
    for name, (argv, cwd, env), cpu in (("a", a, cores[0]), ("b", b, cores[1])):
        out, err = logs / f"{name}.out", logs / f"{name}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen(["taskset", "-c", str(cpu), *argv], cwd=cwd,
                                       env={**os.environ, **env}, stdout=stdout,
                                       stderr=stderr)
        running[process.pid] = (name, out, err)
    done = {}
    while running:
        pid, status, usage = os.wait4(-1, 0)
        if pid not in running:
            continue
        name, out, err = running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise RuntimeError(f"run {name} failed ({code}):\n{err.read_text()[-3000:]}")
        done[name] = {"seconds": time.perf_counter() - started,
                      "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "stdout": out.read_text()}
    return done["a"], done["b"]


def _bare(corpus: Path, model: str, tree: Path) -> Command:
    return bare_command(corpus, model), tree, {**BARE_ENV, "PYTHONPATH": str(tree)}


def _job(corpus: Path, output: Path, model: str) -> Command:
    return job_command(corpus, output, model, 1), REPO, {"PYTHONPATH": str(REPO)}


def worktree(base: str, root: Path) -> Path:
    """A checkout of `base` under `root`, with this checkout's compiled extensions."""
    changed = subprocess.run(["git", "diff", "--name-only", base, "--", "native", "setup.py"],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout
    if changed.strip():
        raise SystemExit(f"native/ or setup.py differ between {base} and this checkout "
                         f"({changed.split()[:3]}...): build the base's extensions by hand.")
    tree = root / "base"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), base], cwd=REPO,
                   check=True, capture_output=True)
    for built in (REPO / "native").rglob("*.so"):
        target = tree / built.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)
    found = subprocess.run([sys.executable, "-c", "import nlp_core; print(nlp_core.__file__)"],
                           cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                           capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).is_relative_to(tree):
        raise SystemExit(f"the worktree's runs would import {found}, not the worktree's code")
    return tree


def main(argv: Optional[List[str]] = None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("job", "base"))
    parser.add_argument("--docs", type=int, default=48000)
    parser.add_argument("--rounds", type=int, default=4, help="pairs run (cores swapped)")
    parser.add_argument("--model", default="en_ewt_sm")
    parser.add_argument("--base", help="the revision to compare with (mode base)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    options = parser.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit(f"two CPUs needed, this process may use {len(cpus)}")
    if options.mode == "base" and not options.base:
        raise SystemExit("mode base needs --base REV")
    names = ("bare", "job x1") if options.mode == "job" else (f"base {options.base}", "this")
    rounds = []
    with tempfile.TemporaryDirectory(prefix="nlp_core_paired_") as tmp:
        root = Path(tmp)
        lines, _ = annotate_corpus.build(options.docs, 0, source="train", max_sents=3)
        corpus = root / "corpus.jsonl"
        annotate_corpus.write(corpus, lines)
        tree = worktree(options.base, root) if options.mode == "base" else None
        try:
            for r in range(options.rounds):
                cores = (cpus[0], cpus[1]) if r % 2 == 0 else (cpus[1], cpus[0])
                load = os.getloadavg()[0]
                if options.mode == "job":
                    a, b = _pair(_bare(corpus, options.model, REPO),
                                 _job(corpus, root / "out", options.model), cores, root)
                    b["stage_seconds"] = job_summary(root / "out").get("stage_seconds", {})
                else:
                    a, b = _pair(_bare(corpus, options.model, tree),
                                 _bare(corpus, options.model, REPO), cores, root)
                    assert a["stdout"] == b["stdout"], (a["stdout"], b["stdout"])
                row = {"cores": cores, "load_before": round(load, 2),
                       names[0]: {k: v for k, v in a.items() if k != "stdout"},
                       names[1]: {k: v for k, v in b.items() if k != "stdout"},
                       "speed": round(a["seconds"] / b["seconds"], 3),
                       "cpu": round(b["cpu_seconds"] / a["cpu_seconds"], 3)}
                rounds.append(row)
                stages = ", ".join(f"{k} {v:.1f}" for k, v in b.get("stage_seconds", {}).items())
                print(f"round {r + 1}: {names[0]} (CPU {cores[0]}) {a['seconds']:.1f} s, "
                      f"{names[1]} (CPU {cores[1]}) {b['seconds']:.1f} s: {names[1]} / "
                      f"{names[0]} speed {row['speed']:.3f}, CPU {row['cpu']:.3f}"
                      + (f"; stages {stages}" if stages else ""), flush=True)
        finally:
            if tree is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO,
                               capture_output=True)
    speeds = [row["speed"] for row in rounds]
    cpu = [row["cpu"] for row in rounds]
    result = {"mode": options.mode, "docs": options.docs, "model": options.model,
              "names": names, "rounds": rounds,
              "median_speed": round(statistics.median(speeds), 3),
              "median_cpu": round(statistics.median(cpu), 3)}
    print(f"{options.docs} docs, {len(rounds)} rounds: {names[1]} / {names[0]} speed "
          f"median {result['median_speed']} (each {speeds}), CPU seconds median "
          f"{result['median_cpu']} (each {cpu})")
    if options.json:
        options.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
