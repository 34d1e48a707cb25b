"""The visualiser's pages in a real browser: headless Chromium (Debian's `chromium`) lays
them out, takes a screenshot, and the layout boxes it computed are checked: arcs, labels,
entity marks and span labels lie inside the viewport and overlap no word.

Chromium runs twice per page: once on the page as written (its Content-Security-Policy
allows no script) for the screenshot, once on a copy with a measuring script appended that
writes every box into the DOM, which `--dump-dom` returns. If Chromium is missing or cannot
start, the tests fail and say how to install it (.ci/run installs it).
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

import nlp_core
from nlp_core import display
from nlp_core.display_data import DisplayDoc
from nlp_core.display_table import select
from nlp_core.tokens import Doc
from nlp_core.vocab import Vocab

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1"]
WIDTH = 1280

MEASURE = """
<script>
(function () {
  function box(r) { return [r.left + scrollX, r.top + scrollY, r.right + scrollX, r.bottom + scrollY]; }
  function boxes(selector, root) {
    return Array.from((root || document).querySelectorAll(selector)).map(function (e) {
      return box(e.getBoundingClientRect()); });
  }
  function rects(node) {
    var range = document.createRange(); range.selectNodeContents(node);
    return Array.from(range.getClientRects()).filter(function (r) { return r.width > 0.5; }).map(box);
  }
  var out = {viewport: [document.documentElement.clientWidth, window.innerHeight],
             scroll_width: document.documentElement.scrollWidth,
             page_height: document.documentElement.scrollHeight,
             rows: [], marks: [], plain: [], span_labels: [], span_words: [], span_bars: []};
  document.querySelectorAll('svg.nc-dep-row').forEach(function (svg) {
    out.rows.push({svg: box(svg.getBoundingClientRect()),
                   words: boxes('text.nc-word', svg), tags: boxes('text.nc-tag', svg),
                   arcs: boxes('path.nc-arc-line', svg), arrows: boxes('path.nc-arrow', svg),
                   labels: boxes('rect.nc-arc-label-bg', svg),
                   label_texts: boxes('text.nc-arc-label', svg)});
  });
  document.querySelectorAll('.nc-ents').forEach(function (div) {
    div.childNodes.forEach(function (node) {
      if (node.nodeType === 3) { out.plain = out.plain.concat(rects(node)); }
    });
    div.querySelectorAll('mark').forEach(function (m) {
      out.marks.push(Array.from(m.getClientRects()).map(box));
    });
  });
  out.span_labels = boxes('.nc-span-label');
  out.span_words = boxes('.nc-tok-text');
  out.span_bars = boxes('.nc-span-bar');
  var pre = document.createElement('pre'); pre.id = 'nc-boxes';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
})();
</script>
"""


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Chromium is not installed: the browser tests need Debian's chromium "
                    "package (`apt-get install -y chromium`; .ci/run installs it).")
    return path


def run_chromium(args: List[str], profile: Path, timeout: int = 120) -> str:
    command = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Chromium did not finish in {timeout} s: {' '.join(command)}")
    if result.returncode != 0:
        pytest.fail(f"Chromium could not start or failed (exit {result.returncode}): "
                    f"{' '.join(command)}\n{result.stderr[-3000:]}")
    return result.stdout


def screenshot(page: Path, png: Path, tmp_path: Path, height: int = 900) -> None:
    run_chromium([f"--window-size={WIDTH},{height}", f"--screenshot={png}",
                  page.resolve().as_uri()], tmp_path / f"profile-shot-{png.stem}")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, "no screenshot was written"


def measure(page: Path, tmp_path: Path) -> Dict:
    """The layout boxes of `page` (page coordinates, CSS pixels) as Chromium computed them."""
    html = page.read_text(encoding="utf8")
    assert "<script" not in html  # the page itself needs no script (and allows none)
    copy = tmp_path / f"measure-{page.name}"
    without_policy = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    copy.write_text(without_policy.replace("</body>", MEASURE + "</body>"), encoding="utf8")
    dom = run_chromium([f"--window-size={WIDTH},900", "--run-all-compositor-stages-before-draw",
                        "--virtual-time-budget=10000", "--dump-dom", copy.resolve().as_uri()],
                       tmp_path / f"profile-dom-{page.stem}")
    found = re.search(r'<pre id="nc-boxes">(.*?)</pre>', dom, re.S)
    assert found, f"the measuring script wrote nothing; Chromium's DOM starts {dom[:300]!r}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&")
                      .replace("&lt;", "<").replace("&gt;", ">"))


def overlap(a, b, tolerance: float = 0.5) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > tolerance and \
        min(a[3], b[3]) - max(a[1], b[1]) > tolerance


def inside(b, width: float, height: float) -> bool:
    return b[0] >= -0.5 and b[1] >= -0.5 and b[2] <= width + 0.5 and b[3] <= height + 0.5


def check_layout(boxes: Dict) -> Dict[str, int]:
    """Asserts the layout rules; returns how many of each thing were checked."""
    width, height = boxes["viewport"][0], boxes["page_height"]
    assert boxes["scroll_width"] <= width, "the page is wider than the viewport"
    counts = {"rows": 0, "words": 0, "arcs": 0, "arrows": 0, "labels": 0, "marks": 0,
              "span_labels": 0}
    for row in boxes["rows"]:
        counts["rows"] += 1
        assert inside(row["svg"], width, height)
        drawn = row["arcs"] + row["arrows"] + row["labels"] + row["label_texts"]
        for b in drawn:
            assert inside(b, width, height), f"outside the viewport: {b}"
            assert inside([b[0] - row["svg"][0], b[1] - row["svg"][1], b[2] - row["svg"][0],
                           b[3] - row["svg"][1]], row["svg"][2] - row["svg"][0],
                          row["svg"][3] - row["svg"][1]), f"outside its SVG: {b}"
        for word in row["words"] + row["tags"]:
            assert inside(word, width, height)
            for b in drawn:
                assert not overlap(b, word), f"an arc or label {b} overlaps a word {word}"
        texts = row["words"] + row["tags"]
        for i, a in enumerate(texts):
            for b in texts[i + 1:]:
                assert not overlap(a, b), f"words overlap: {a} {b}"
        for i, a in enumerate(row["labels"]):
            for b in row["labels"][i + 1:]:
                assert not overlap(a, b), f"arc labels overlap: {a} {b}"
        counts["words"] += len(row["words"])
        counts["arcs"] += len(row["arcs"])
        counts["arrows"] += len(row["arrows"])
        counts["labels"] += len(row["labels"])
    marks = [r for rects in boxes["marks"] for r in rects]
    for i, mark in enumerate(marks):
        assert inside(mark, width, height), f"entity mark outside the viewport: {mark}"
        for text in boxes["plain"]:
            assert not overlap(mark, text), f"entity mark {mark} overlaps the words {text}"
        for other in marks[i + 1:]:
            assert not overlap(mark, other), f"entity marks overlap: {mark} {other}"
    counts["marks"] = len(marks)
    for i, label in enumerate(boxes["span_labels"]):
        assert inside(label, width, height)
        for word in boxes["span_words"]:
            assert not overlap(label, word), f"span label {label} overlaps a word {word}"
        for other in boxes["span_labels"][i + 1:]:
            assert not overlap(label, other), f"span labels overlap: {label} {other}"
    for bar in boxes["span_bars"]:
        assert inside(bar, width, height)
    counts["span_labels"] = len(boxes["span_labels"])
    return counts


def noun_phrase_spans(doc) -> None:
    """Overlapping spans for the span style: each noun's subtree (NP) and each entity."""
    spans = []
    for token in doc:
        if token.pos_ in ("NOUN", "PROPN") and token.right_edge.i - token.left_edge.i < 12:
            span = doc[token.left_edge.i:token.right_edge.i + 1]
            span.label_ = "NP"
            spans.append(span)
    doc.spans["sc"] = spans + list(doc.ents)


def fixed_docs():
    nlp = nlp_core.load("en_ewt_sm")
    long_doc = nlp("When Ada Lovelace published her notes on the Analytical Engine of Charles "
                   "Babbage in London in 1843, she described how it could compute Bernoulli "
                   "numbers and much more than numbers alone, long before any such machine "
                   "was built.")
    noun_phrase_spans(long_doc)
    vocab = Vocab()
    rtl = Doc(vocab, ["\u0645\u0631\u062d\u0628\u0627", "\u0628\u0643\u0645", "\u0641\u064a",
                      "\u0627\u0644\u0642\u0627\u0647\u0631\u0629", "."],
              heads=[0, 0, 3, 0, 0], deps=["ROOT", "obj", "case", "obl", "punct"],
              pos=["INTJ", "PRON", "ADP", "PROPN", "PUNCT"],
              ents=["O", "O", "O", "B-LOC", "O"])
    hostile = DisplayDoc(text="<script>alert(1)</script> says hi", starts=[0, 26, 31],
                         ends=[25, 30, 33], pos=["X", "VERB", "INTJ"],
                         deps=["nsubj", "ROOT", "obj"], heads=[1, 1, 1],
                         ents=[(0, 25, "<b>ORG</b>")], spans=[("sc", 0, 30, "<i>x</i>")],
                         title="<script>id</script>")
    return [long_doc, rtl, hostile]


def test_fixed_docs_in_chromium(tmp_path):
    docs = fixed_docs()
    page = tmp_path / "page.html"
    page.write_text("".join([
        display.render(docs, "dep", page=True).split("</body>")[0],
        display.render(docs, "ent"), display.render(docs, "span"), "</body></html>"]),
        encoding="utf8")
    counts = check_layout(measure(page, tmp_path))
    n_long = len(docs[0])
    assert counts["rows"] >= 4  # the long sentence wraps at 960 px
    assert counts["arcs"] >= n_long - 1 + 4 + 2 and counts["labels"] == counts["arcs"]
    assert counts["marks"] >= len(docs[0].ents) + 2
    assert counts["span_labels"] == len(docs[0].spans["sc"]) + 1
    screenshot(page, tmp_path / "page.png", tmp_path)


def _sample_run(tmp_path: Path) -> Path:
    """The README's sample run: examples/ewt_sample.jsonl with en_ewt_sm, text kept."""
    out = tmp_path / "annotated"
    command = [sys.executable, "-m", "beam_jobs.annotate", "--input",
               str(ROOT / "examples" / "ewt_sample.jsonl"), "--output", str(out), "--model",
               "en_ewt_sm", "--max-chars", "5000", "--keep-text", "--overwrite"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.mark.slow
def test_sample_run_pages_in_chromium(tmp_path):
    out = _sample_run(tmp_path)
    pages = {"dep": ["--where", "length(token_start) BETWEEN 12 AND 45", "--limit", "6"],
             "ent": ["--where", "length(ents) >= 2", "--limit", "12"]}
    for style, args in pages.items():
        page = tmp_path / f"{style}.html"
        result = subprocess.run([sys.executable, "-m", "nlp_core", "display", str(out),
                                 "--style", style, *args, "--output", str(page)],
                                capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        html = page.read_text(encoding="utf8")
        assert "en_ewt_sm" in html and "dead_lettered" not in html and "not_utf8" in html
        counts = check_layout(measure(page, tmp_path))
        docs = select(str(out), style=style, where=args[1], limit=int(args[3])).docs
        if style == "dep":
            assert counts["words"] == sum(len(d) for d in docs) >= 6 * 12
            # one arrow per non-root token; an arc across rows has one piece per row
            assert counts["arrows"] == sum(h != i for d in docs for i, h in enumerate(d.heads))
            assert counts["arcs"] >= counts["arrows"]
        else:
            assert counts["marks"] >= sum(len(d.ents) for d in docs) >= 12 * 2
        screenshot(page, tmp_path / f"{style}.png", tmp_path)


def test_the_layout_check_catches_overlaps():
    """check_layout fails on the faults it is there to find (boxes as Chromium reports
    them: left, top, right, bottom)."""
    good = {"viewport": [800, 600], "scroll_width": 800, "page_height": 600,
            "rows": [{"svg": [0, 0, 400, 100], "words": [[10, 60, 50, 80], [60, 60, 100, 80]],
                      "tags": [], "arcs": [[30, 20, 80, 55]], "arrows": [],
                      "labels": [[40, 10, 70, 30]], "label_texts": []}],
            "marks": [[[10, 200, 60, 230]]], "plain": [[70, 200, 300, 230]],
            "span_labels": [], "span_words": [], "span_bars": []}
    assert check_layout(good)["arcs"] == 1
    faults = [("rows", 0, "arcs", [30, 20, 80, 65], "overlaps a word"),
              ("rows", 0, "labels", [40, 10, 420, 30], "outside its SVG"),
              ("rows", 0, "labels", [40, 10, 90, 62], "overlaps a word"),
              ("rows", 0, "words", [45, 60, 90, 80], "words overlap"),
              ("marks", 0, 0, [10, 200, 80, 230], "overlaps the words"),
              ("rows", 0, "arcs", [30, -5, 80, 55], "outside")]
    for key, index, inner, value, message in faults:
        bad = json.loads(json.dumps(good))
        target = bad[key][index]
        if key == "marks":
            target[inner] = value
        elif inner == "words":
            target[inner][1] = value
        else:
            target[inner][0] = value
        with pytest.raises(AssertionError, match=message):
            check_layout(bad)
    wide = dict(good, scroll_width=900)
    with pytest.raises(AssertionError, match="wider than the viewport"):
        check_layout(wide)
