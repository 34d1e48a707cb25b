"""Side-by-side benchmarks: a workload with nlp_core and, given a spaCy interpreter, the same
workload with spaCy in the same run, printing both figures and the ratio ours / spaCy.

    python benchmarks/run.py tokenizer [--spacy-python PATH] [--passes N]

PATH (or the environment variable NLP_CORE_SPACY_PYTHON) is a Python with spaCy installed,
e.g. /work/spacy-venv/bin/python; the spaCy side runs there in a subprocess.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import workloads  # noqa: E402


def run_spacy(python: str, name: str, passes: int) -> dict:
    command = [python, str(HERE / "spacy_side.py"), name, "--passes", str(passes)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"The spaCy side failed ({' '.join(command)}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(name: str, ours: dict, theirs) -> str:
    lines = [f"workload: {name}  ({platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()})"]
    lines.append(f"  nlp_core: {ours['value']:,.0f} {ours['metric']}  {ours['details']}")
    if theirs is not None:
        lines.append(f"  spaCy:    {theirs['value']:,.0f} {theirs['metric']}  {theirs['details']}")
        ratio = ours["value"] / theirs["value"]
        if not ours.get("higher_is_better", True):
            ratio = 1 / ratio
        lines.append(f"  ratio ours/spaCy: {ratio:.2f}x (higher is better)")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", nargs="+", help=f"one of: {', '.join(workloads.names())}")
    parser.add_argument("--spacy-python", default=os.environ.get("NLP_CORE_SPACY_PYTHON"),
                        help="Python interpreter with spaCy (env NLP_CORE_SPACY_PYTHON)")
    parser.add_argument("--passes", type=int, default=5, help="timed passes; the best counts")
    options = parser.parse_args(argv)
    for name in options.workload:
        module = workloads.load(name)
        ours = module.ours(options)
        theirs = run_spacy(options.spacy_python, name, options.passes) \
            if options.spacy_python else None
        print(report(name, ours, theirs), flush=True)


if __name__ == "__main__":
    main()
