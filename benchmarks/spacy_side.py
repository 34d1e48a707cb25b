"""Runs one workload's `spacy(options)` under a spaCy interpreter; prints its result as JSON.

Called by run.py as `SPACY_PYTHON benchmarks/spacy_side.py WORKLOAD --passes N`; spaCy is
imported only here (inside the workload's `spacy` function), never by nlp_core.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("--passes", type=int, default=5)
    options = parser.parse_args()
    result = workloads.load(options.workload).spacy(options)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
