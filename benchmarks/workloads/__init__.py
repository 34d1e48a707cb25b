"""Benchmark workloads: one module per workload, named as on the command line.

A workload module defines two functions taking the parsed options (`passes`, `data`) and
returning a result dict `{"metric": str, "value": float, "higher_is_better": bool,
"details": {...}}`:

- `ours(options)` runs with nlp_core (imported inside the function);
- `spacy(options)` runs the same work with spaCy (imported inside the function); it runs
  under the spaCy interpreter, so the module itself imports neither library.

Adding a workload = adding one such file here.
"""
import importlib
import pkgutil
from pathlib import Path
from typing import List


def names() -> List[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))


def load(name: str):
    if name not in names():
        raise SystemExit(f"Unknown workload {name!r}; known workloads: {', '.join(names())}")
    return importlib.import_module(f"workloads.{name}")
