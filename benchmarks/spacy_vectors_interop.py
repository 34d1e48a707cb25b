"""`init vectors` interop both ways, run under a spaCy interpreter:

    /work/spacy-venv/bin/python benchmarks/spacy_vectors_interop.py [--ours-python PYTHON]

1. Our `init vectors` output (plain and --prune 500 on ../shared/data/interop/
   vectors-small.txt, built with `PYTHON -m nlp_core`) opens with `spacy.load`: every key's
   vector is identical to the file's row (plain) or to spaCy's own --prune 500 output,
   "Don't stop," splits as in spaCy's English, and other texts split as nlp_core splits
   them with the same directory (spaCy's blank English shown beside them).
2. spaCy's own `init vectors` output (plain and --prune 500) opens with `nlp_core.load`
   (run with PYTHON) with the same keys and identical vectors.

PYTHON (default: env NLP_CORE_PYTHON, else `python3` on PATH) is an interpreter with
nlp_core. Prints one PASS/FAIL line per check; exits 1 if any check fails.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy
import spacy

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "data" / "interop" / "vectors-small.txt"
SPACY_PRUNE_500 = SOURCE.parent / "vectors-small-spacy-prune500"
# our side of check 2: dump every key's vector of a pipeline as nlp_core loads it
DUMP = """
import sys, numpy, nlp_core
vectors = nlp_core.load(sys.argv[1]).vocab.vectors
keys = numpy.array(sorted(vectors.key2row), dtype=numpy.uint64)
numpy.save(sys.argv[2], keys)
numpy.save(sys.argv[3], vectors.get_batch(keys))
"""
TOKENS = [("Don't stop,", ["Do", "n't", "stop", ","])]
# texts whose tokens under spacy.load must be nlp_core's own for the same directory (the
# tokenizer file travels with the pipeline); spaCy's blank English is shown beside them
SAME_AS_OURS = ["I can't believe it's 9 a.m.!", "U.S. e-mail: a@b.com (3.5%) -- ok?"]
OUR_TOKENS = """
import json, sys, nlp_core
nlp = nlp_core.load(sys.argv[1])
print(json.dumps([[t.text for t in nlp(text)] for text in json.loads(sys.argv[2])]))
"""
failures = []


def check(ok: bool, line: str) -> None:
    print(("PASS  " if ok else "FAIL  ") + line, flush=True)
    if not ok:
        failures.append(line)


def file_rows() -> dict:
    """word -> float32 row of vectors-small.txt (first occurrence), parsed as spaCy does."""
    rows = {}
    lines = SOURCE.read_text(encoding="utf8").splitlines()
    width = int(lines[0].split()[1])
    for line in lines[1:]:
        pieces = line.rsplit(" ", width)
        rows.setdefault(pieces[0], numpy.asarray(pieces[1:], dtype="f"))
    return rows


def same_vectors(table_a, table_b) -> tuple:
    """(keys compared, keys identical) of two spaCy Vectors tables, over the keys of a."""
    keys = list(table_a.key2row)
    same = sum(numpy.array_equal(table_a[k], table_b[k]) for k in keys if k in table_b)
    return len(keys), same


def ours_to_spacy(python: str, work: Path) -> None:
    rows = file_rows()
    reference = spacy.load(SPACY_PRUNE_500).vocab.vectors
    for prune in (0, 500):
        out = work / f"ours_prune{prune}"
        subprocess.run([python, "-m", "nlp_core", "init", "vectors", "en", str(SOURCE),
                        str(out)] + (["--prune", str(prune)] if prune else []), check=True,
                       capture_output=True)
        nlp = spacy.load(out)
        vectors = nlp.vocab.vectors
        label = f"ours --prune {prune} -> spacy.load" if prune else "ours plain -> spacy.load"
        if prune:
            n, same = same_vectors(reference, vectors)
            check(n == same == len(vectors.key2row) == 2000 and vectors.shape == (500, 50),
                  f"{label}: {same}/{n} keys give the same vector as spaCy's own --prune "
                  f"500 output; table {vectors.shape}")
        else:
            same = sum(numpy.array_equal(vectors[nlp.vocab.strings[w]], row)
                       for w, row in rows.items())
            check(same == len(rows) == len(vectors.key2row) and vectors.shape == (2000, 50),
                  f"{label}: {same}/{len(rows)} words give the file's row; table "
                  f"{vectors.shape}, {len(vectors.key2row)} keys")
        for text, expected in TOKENS:
            doc = nlp(text)
            got = [t.text for t in doc]
            with_vector = [t.text for t in doc if t.has_vector]
            check(got == expected, f"{label}: {text!r} -> {' '.join(got)} (tokens with a "
                                   f"vector: {' '.join(with_vector)})")
        ours = json.loads(subprocess.run(
            [python, "-c", OUR_TOKENS, str(out), json.dumps(SAME_AS_OURS)], check=True,
            capture_output=True, text=True).stdout)
        english = spacy.blank("en")
        for text, our_tokens in zip(SAME_AS_OURS, ours):
            got = [t.text for t in nlp(text)]
            theirs = [t.text for t in english(text)]
            check(got == our_tokens, f"{label}: {text!r} -> {' '.join(got)} (nlp_core: "
                                     f"{' '.join(our_tokens)}; spaCy's blank English: "
                                     f"{' '.join(theirs)})")
        stop = nlp("stop")[0]
        check(numpy.array_equal(stop.vector, vectors[nlp.vocab.strings["stop"]])
              and stop.has_vector, f"{label}: Token.vector of 'stop' is its table row")


def spacy_to_ours(python: str, work: Path) -> None:
    for prune in (0, 500):
        out = work / f"spacy_prune{prune}"
        subprocess.run([sys.executable, "-m", "spacy", "init", "vectors", "en", str(SOURCE),
                        str(out)] + (["--prune", str(prune)] if prune else []), check=True,
                       capture_output=True)
        keys_file, vectors_file = work / f"keys{prune}.npy", work / f"vectors{prune}.npy"
        subprocess.run([python, "-c", DUMP, str(out), str(keys_file), str(vectors_file)],
                       check=True, capture_output=True)
        keys, ours = numpy.load(keys_file), numpy.load(vectors_file)
        theirs = spacy.load(out).vocab.vectors
        expected = numpy.stack([theirs[int(k)] for k in keys.tolist()])
        same = int((ours == expected).all(axis=1).sum())
        label = f"spaCy --prune {prune} -> nlp_core.load" if prune else \
            "spaCy plain -> nlp_core.load"
        check(set(keys.tolist()) == set(theirs.key2row) and same == len(keys),
              f"{label}: {same}/{len(theirs.key2row)} keys, identical vectors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours-python", default=os.environ.get("NLP_CORE_PYTHON")
                        or shutil.which("python3"))
    options = parser.parse_args()
    print(f"spaCy {spacy.__version__}; nlp_core under {options.ours_python}; "
          f"source {SOURCE.name}")
    with tempfile.TemporaryDirectory() as tmp:
        ours_to_spacy(options.ours_python, Path(tmp))
        spacy_to_ours(options.ours_python, Path(tmp))
    print(f"{'all checks passed' if not failures else f'{len(failures)} checks FAILED'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
