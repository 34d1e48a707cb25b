"""Remake docs/display_{dep,ent,span}.png: pages of the README's sample run, as headless
Chromium (Debian's `chromium`) shows them.

    python -m beam_jobs.annotate --input examples/ewt_sample.jsonl --output out/annotated \
        --model en_ewt_sm --max-chars 5000 --keep-text --overwrite
    python docs/make_screenshots.py out/annotated

The span page draws overlapping spans made from each document's parse (every noun's subtree
as NP) and its entities, since the sample run has no span groups.
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from nlp_core import display
from nlp_core.display_data import DisplayDoc
from nlp_core.display_page import build_page
from nlp_core.display_table import run_summaries, select

DOCS = Path(__file__).resolve().parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1"]
PAGES = {"dep": ("length(token_start) BETWEEN 16 AND 24 AND list_contains(pos, 'VERB') AND "
                 "length(ents) >= 1 AND NOT list_contains(pos, 'X')", 1, 1000, 700),
         "ent": ("length(ents) >= 3 AND length(token_start) < 80", 4, 1000, 560),
         "span": ("length(ents) >= 2 AND length(token_start) BETWEEN 15 AND 30", 3, 1000, 520)}


def noun_phrases(doc: DisplayDoc) -> None:
    """Adds an NP span per noun (its subtree's extent) to `doc.spans`, beside its entities."""
    n = len(doc)
    left, right = list(range(n)), list(range(n))
    for i in range(n):
        j, seen = i, 0
        while doc.heads[j] != j and seen < n:
            j = doc.heads[j]
            left[j], right[j] = min(left[j], i), max(right[j], i)
            seen += 1
    spans = [("np", doc.starts[left[i]], doc.ends[right[i]], "NP") for i in range(n)
             if doc.pos and doc.pos[i] in ("NOUN", "PROPN") and right[i] - left[i] < 10]
    doc.spans = spans + [("ents", s, e, label) for s, e, label in doc.ents]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", help="the sample run's output directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for style, (where, limit, width, height) in PAGES.items():
            selection = select(args.output, style=style, where=where, limit=limit,
                               also_styles=("dep", "ent") if style == "span" else ())
            if style == "span":
                for doc in selection.docs:
                    noun_phrases(doc)
            page = Path(tmp) / f"{style}.html"
            options = {"wrap_width": width - 80} if style == "dep" else {}
            if style == "dep":  # as the display command writes it: the run's summary first
                html = build_page(selection, run_summaries(selection.files), style=style,
                                  pattern=args.output, doc_ids=(), where=where, limit=limit,
                                  options=options)
            else:
                html = display.render(selection.docs, style, options, page=True)
            page.write_text(html, encoding="utf8")
            png = DOCS / f"display_{style}.png"
            subprocess.run(["chromium", *FLAGS, f"--user-data-dir={tmp}/profile-{style}",
                            f"--window-size={width},{height}", f"--screenshot={png}",
                            page.as_uri()], check=True, capture_output=True, timeout=120)
            print(f"wrote {png}", file=sys.stderr)


if __name__ == "__main__":
    main()
