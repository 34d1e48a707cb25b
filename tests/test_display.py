"""nlp_core.display: the drawings checked structurally (arcs, labels, tags, entity offsets,
overlapping spans, right-to-left), escaping of untrusted text, options, rows, the server."""
import html.parser
import random
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from nlp_core import display
from nlp_core.display_data import DisplayDataError, DisplayDoc, from_row
from nlp_core.tokens import Doc
from nlp_core.vocab import Vocab

SVG = "{http://www.w3.org/2000/svg}"
WORDS = ["She", "gave", "Ada", "the", "book", "in", "New", "York", "."]
HEADS = [1, 1, 1, 4, 1, 7, 7, 1, 1]
DEPS = ["nsubj", "ROOT", "iobj", "det", "obj", "case", "compound", "obl", "punct"]
POS = ["PRON", "VERB", "PROPN", "DET", "NOUN", "ADP", "PROPN", "PROPN", "PUNCT"]


def make_doc(**extra) -> Doc:
    spaces = [True] * (len(WORDS) - 2) + [False, False]
    return Doc(Vocab(), WORDS, spaces, heads=HEADS, deps=DEPS, pos=POS,
               ents=["O", "O", "B-PER", "O", "O", "O", "B-GPE", "I-GPE", "O"], **extra)


def parse(fragment: str) -> ET.Element:
    """The fragment as XML: every element closed, every text escaped."""
    return ET.fromstring(fragment)


def attrs(element: ET.Element, name: str) -> float:
    return float(element.get(name))


def test_dep_one_arc_per_non_root_token_with_labels_and_tags():
    root = parse(display.render(make_doc(), "dep"))
    words = root.findall(f".//{SVG}text[@class='nc-word']")
    assert [w.text for w in words] == WORDS
    assert [t.text for t in root.findall(f".//{SVG}text[@class='nc-tag']")] == POS
    arcs = root.findall(f".//{SVG}g[@class='nc-arc']")
    pairs = sorted((int(a.get("data-dep")), int(a.get("data-head"))) for a in arcs)
    assert pairs == sorted((i, h) for i, h in enumerate(HEADS) if i != h)
    for arc in arcs:
        dep = int(arc.get("data-dep"))
        assert arc.find(f"{SVG}text[@class='nc-arc-label']").text == DEPS[dep]
        # the arrow points down at the dependent, beside its word's centre
        tip_x = float(arc.find(f"{SVG}path[@class='nc-arrow']").get("d")[1:].split(",")[0])
        word_x = {int(w.get("data-i")): attrs(w, "x") for w in words}
        assert abs(tip_x - word_x[dep]) < abs(tip_x - word_x[int(arc.get("data-head"))])
        assert abs(tip_x - word_x[dep]) <= 16 * 0.3 + 0.1


def _rows(root):
    return root.findall(f".//{SVG}svg")


def _check_row_geometry(svg: ET.Element) -> None:
    """Everything inside the SVG; labels apart; arcs and labels above the words; words
    apart by their estimated widths."""
    width, height = attrs(svg, "width"), attrs(svg, "height")
    words = svg.findall(f"{SVG}text[@class='nc-word']")
    word_top = min(attrs(w, "y") for w in words) - 16 * 1.0  # font size 16, ascent < 1 em
    rects = []
    for rect in svg.iter(f"{SVG}rect"):
        x, y, w, h = (attrs(rect, k) for k in ("x", "y", "width", "height"))
        assert 0 <= x and x + w <= width + 0.1 and 0 <= y and y + h <= word_top
        rects.append((x, y, w, h))
    for a in range(len(rects)):
        for b in range(a + 1, len(rects)):
            xa, ya, wa, ha = rects[a]
            xb, yb, wb, hb = rects[b]
            assert xa + wa <= xb + 0.1 or xb + wb <= xa + 0.1 or ya + ha <= yb + 0.1 or \
                yb + hb <= ya + 0.1, f"labels overlap: {rects[a]} {rects[b]}"
    for path in svg.iter(f"{SVG}path"):
        numbers = [float(v) for v in path.get("d").replace("M", " ").replace("L", " ")
                   .replace("Q", " ").replace("Z", " ").replace(",", " ").split()]
        xs, ys = numbers[0::2], numbers[1::2]
        assert min(xs) >= -0.1 and max(xs) <= width + 0.1
        assert min(ys) >= 0 and max(ys) <= word_top
    assert height > max(attrs(w, "y") for w in words)
    spans = sorted((attrs(w, "x"), len(w.text)) for w in words)
    for (x1, n1), (x2, n2) in zip(spans, spans[1:]):
        assert x2 - x1 >= (n1 + n2) / 2 * 16 * 0.6  # centres further apart than half-widths


def test_dep_wraps_long_sentences_into_rows_and_keeps_every_arc():
    rng = random.Random(7)
    n = 70
    words = [rng.choice(["alpha", "be", "gamma", "delta", "x", "epsilonic"]) for _ in range(n)]
    heads = [rng.randrange(n) if i else 0 for i in range(n)]
    deps = [rng.choice(["nsubj", "obj", "compound:prt", "det", "advmod"]) for _ in range(n)]
    doc = Doc(Vocab(), words, heads=heads, deps=deps, sent_starts=[True] + [False] * (n - 1))
    root = parse(display.render(doc, "dep", {"wrap_width": 500}))
    rows = _rows(root)
    assert len(rows) > 3
    for svg in rows:
        assert attrs(svg, "width") <= 500
        _check_row_geometry(svg)
    arcs = root.findall(f".//{SVG}g[@class='nc-arc']")
    assert {(int(a.get("data-dep")), int(a.get("data-head"))) for a in arcs} == \
        {(i, h) for i, h in enumerate(heads) if i != h}
    # an arc across rows is drawn once per row it passes; its arrow once
    arrows = [a for a in arcs if a.find(f"{SVG}path[@class='nc-arrow']") is not None]
    assert sorted(int(a.get("data-dep")) for a in arrows) == [i for i in range(n) if heads[i] != i]


@pytest.mark.parametrize("seed", range(5))
def test_dep_random_trees_labels_never_overlap(seed):
    rng = random.Random(seed)
    n = rng.randrange(2, 40)
    heads = [rng.randrange(n) for _ in range(n)]
    words = [rng.choice(["a", "word", "W", "longerword", "."]) for _ in range(n)]
    deps = [rng.choice(["nsubj", "obj", "x", "compound:prt", "nmod:poss"]) for _ in range(n)]
    doc = Doc(Vocab(), words, heads=heads, deps=deps, sent_starts=[True] + [False] * (n - 1))
    for svg in _rows(parse(display.render(doc, "dep"))):
        _check_row_geometry(svg)


def test_dep_sentences_are_separate_blocks_unless_an_arc_crosses():
    words = ["A", "b", ".", "C", "d", "."]
    heads = [1, 1, 1, 4, 4, 4]
    doc = Doc(Vocab(), words, heads=heads, deps=["x"] * 6,
              sent_starts=[True, False, False, True, False, False])
    assert len(parse(display.render(doc, "dep")).findall(".//div[@class='nc-sent']")) == 2
    crossing = DisplayDoc(text="A b . C d .", starts=[0, 2, 4, 6, 8, 10],
                          ends=[1, 3, 5, 7, 9, 11], heads=[1, 1, 1, 4, 1, 4],
                          deps=["x"] * 6, sent_starts=[0, 3])
    assert len(parse(display.render(crossing, "dep")).findall(".//div[@class='nc-sent']")) == 1


def test_dep_without_parse_shows_words_and_a_note():
    doc = Doc(Vocab(), ["just", "words"], pos=["ADV", "NOUN"])
    root = parse(display.render(doc, "dep"))
    assert root.findall(f".//{SVG}g[@class='nc-arc']") == []
    assert [w.text for w in root.findall(f".//{SVG}text[@class='nc-word']")] == ["just", "words"]
    assert "No dependency parse" in "".join(root.itertext())


def test_ent_marks_at_the_right_offsets_and_text_kept_whole():
    doc = make_doc()
    root = parse(display.render(doc, "ent", {"colors": {"PER": "#123456"}}))
    marks = root.findall(".//mark")
    assert [(int(m.get("data-start")), int(m.get("data-end")), m.get("data-label"))
            for m in marks] == [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    for mark in marks:
        start, end = int(mark.get("data-start")), int(mark.get("data-end"))
        assert mark.text == doc.text[start:end]
        assert mark.find("span").text == mark.get("data-label")
    assert "#123456" in marks[0].get("style")
    container = root.find(".//div[@class='nc-ents']")
    shown = (container.text or "") + "".join(m.text + (m.tail or "") for m in marks)
    assert shown == doc.text
    legend = root.findall(".//span[@class='nc-legend-item']")
    assert sorted(item.get("data-label") for item in legend) == ["GPE", "PER"]


def test_ent_filter_by_label():
    root = parse(display.render(make_doc(), "ent", {"ents": ["GPE"]}))
    assert [m.get("data-label") for m in root.findall(".//mark")] == ["GPE"]


def test_span_groups_overlap_on_separate_slots():
    doc = make_doc()
    doc.spans["sc"] = [doc[2:5], doc[4:8], doc[6:8], doc[0:1]]
    for span, label in zip(doc.spans["sc"], ["A", "B", "C", "D"]):
        span.label_ = label
    root = parse(display.render(doc, "span"))
    tokens = root.findall(".//span[@class='nc-tok']")
    assert len(tokens) == len(doc)
    covered = {}  # span number -> (tokens, slot)
    for tok in tokens:
        i = int(tok.get("data-i"))
        assert tok.find("span[@class='nc-tok-text']").text == doc[i].text
        for slot, bar in enumerate(tok.findall("span")[1:]):
            if "nc-span-bar" in bar.get("class"):
                covered.setdefault(int(bar.get("data-span")), []).append((i, slot))
    assert len(covered) == 4
    spans = sorted(covered.values())
    for cells in spans:
        assert len({slot for _, slot in cells}) == 1  # one slot along the whole span
    as_ranges = {tuple(i for i, _ in cells): cells[0][1] for cells in spans}
    assert set(as_ranges) == {(2, 3, 4), (4, 5, 6, 7), (6, 7), (0,)}
    assert as_ranges[(2, 3, 4)] != as_ranges[(4, 5, 6, 7)] != as_ranges[(6, 7)]
    assert max(as_ranges.values()) == 1  # spans that do not overlap share a slot
    labels = [e.text for e in root.findall(".//span[@class='nc-span-label']")]
    assert sorted(labels) == ["A", "B", "C", "D"]


class _Elements(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.handlers = []

    def handle_starttag(self, tag, attributes):
        self.tags.append(tag)
        self.handlers += [name for name, _ in attributes if name.startswith("on")]


HOSTILE = "<script>alert('x')</script> & <img src=x onerror=alert(1)> \"q\" \u202e"


@pytest.mark.parametrize("style", ["dep", "ent", "span"])
def test_untrusted_text_labels_and_ids_are_escaped(style):
    text = HOSTILE
    doc = DisplayDoc(text=text, starts=[0, 30], ends=[8, 37], tags=["<b>", "x"],
                     pos=["<i>", "y"], deps=["<script>", "ROOT"], heads=[1, 1],
                     ents=[(0, 8, "<script>evil</script>")],
                     spans=[("<g>", 0, 8, "<u>x</u>")], title="<script>id</script>",
                     meta=[("source", "\"><script>")], problems=["<b>bad</b>"])
    page = display.render(doc, style, page=True)
    found = _Elements()
    found.feed(page)
    assert "script" not in found.tags and "img" not in found.tags and "b" not in found.tags
    assert not found.handlers
    assert "&lt;script&gt;" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    parse(display.render(doc, style))  # still well-formed


def test_control_characters_become_replacement_characters():
    doc = Doc(Vocab(), ["a\x00b", "c"])
    assert "\x00" not in display.render(doc, "ent")
    assert "\ufffd" in display.render(doc, "ent")


def test_right_to_left_text():
    words = ["\u05e9\u05dc\u05d5\u05dd", "\u05e2\u05d5\u05dc\u05dd", "!"]
    doc = Doc(Vocab(), words, [True, False, False], heads=[1, 1, 1], deps=["amod", "ROOT", "punct"])
    root = parse(display.render(doc, "dep"))
    assert root.find(".//div[@class='nc-dep']").get("dir") == "rtl"
    xs = [attrs(w, "x") for w in root.findall(f".//{SVG}text[@class='nc-word']")]
    assert xs[0] > xs[1] > xs[2]  # first word on the right
    for svg in _rows(root):
        _check_row_geometry(svg)
    assert parse(display.render(doc, "ent")).find(".//div[@class='nc-ents']").get("dir") == "rtl"
    latin = parse(display.render(make_doc(), "dep", {"direction": "rtl"}))
    xs = [attrs(w, "x") for w in latin.findall(f".//{SVG}text[@class='nc-word']")]
    assert xs == sorted(xs, reverse=True)


def test_options_are_checked():
    with pytest.raises(ValueError, match="E580"):
        display.render(make_doc(), "tree")
    with pytest.raises(ValueError, match="E581.*'compact'"):
        display.render(make_doc(), "dep", {"compact": True})
    with pytest.raises(ValueError, match="E581"):
        display.render(make_doc(), "ent", {"direction": "up"})
    with pytest.raises(ValueError, match="E586"):
        display.render(make_doc(), "ent", {"colors": {"PER": "red; background: url(x)"}})


def _row(**changes):
    row = {"doc_id": "d1", "source": "a.jsonl", "offset": 0, "text": "Ada met Bob",
           "token_start": [0, 4, 8], "token_end": [3, 7, 11], "dep": ["nsubj", "ROOT", "obj"],
           "head": [1, 1, 1], "pos": ["PROPN", "VERB", "PROPN"],
           "ents": [{"start_char": 0, "end_char": 3, "label": "PER"}],
           "pipeline": {"name": "en_x", "version": "1"}}
    row.update(changes)
    return row


def test_rows_are_checked_and_bad_ones_named():
    doc = from_row(_row(), max_tokens=100)
    assert doc.words() == ["Ada", "met", "Bob"] and doc.heads == [1, 1, 1]
    assert ("pipeline", "en_x 1") in doc.meta
    with pytest.raises(DisplayDataError, match="E582.*'d1'.*--keep-text"):
        from_row(_row(text=None), max_tokens=100)
    with pytest.raises(DisplayDataError, match="E584"):
        from_row(_row(token_end=[3, 7, 12]), max_tokens=100)
    with pytest.raises(DisplayDataError, match="E584"):
        from_row(_row(token_start=[4, 0, 8], token_end=[7, 3, 11]), max_tokens=100)
    with pytest.raises(DisplayDataError, match="E585"):
        from_row(_row(head=[1, 1, 3]), max_tokens=100)
    with pytest.raises(DisplayDataError, match="E583.*'dep'"):
        from_row(_row(dep=["x"]), max_tokens=100)
    odd = from_row(_row(ents=[{"start_char": 0, "end_char": 3, "label": "PER"},
                              {"start_char": 2, "end_char": 5, "label": "X"},
                              {"start_char": 5, "end_char": 99, "label": "Y"}]), max_tokens=100)
    assert odd.ents == [(0, 3, "PER")] and "2 entities dropped" in odd.problems[0]


def test_long_rows_are_cut_at_max_tokens():
    doc = from_row(_row(), max_tokens=2)
    assert doc.words() == ["Ada", "met"] and doc.heads == [1, 1]
    assert doc.problems == ["showing the first 2 of 3 tokens"]
    parse(display.render(doc, "dep"))


def test_doc_and_span_repr_html():
    doc = make_doc()
    assert 'class="nc-arc"' in doc._repr_html_()
    assert doc[6:8]._repr_html_().count('class="nc-word"') == 2
    blank = Doc(Vocab(), ["no", "parse"])
    assert 'class="nc-ents"' in blank._repr_html_()


def test_serve_answers_with_the_page_and_its_policy():
    page = display.render(make_doc(), "ent", page=True)
    server = display.make_server(page, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.read().decode("utf8") == page
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=10)
    finally:
        server.shutdown()
        server.server_close()


def test_hostile_sizes_are_bounded():
    long_word = "x" * 5000
    doc = Doc(Vocab(), [long_word, "y"], heads=[1, 1], deps=["dep", "ROOT"])
    root = parse(display.render(doc, "dep"))
    assert max(attrs(svg, "width") for svg in _rows(root)) < 2000
    assert root.find(f".//{SVG}text[@class='nc-word']").text.endswith("\u2026")
    row = _row(spans=[{"group": "g", "start_char": 0, "end_char": 3, "label": "S"}] * 1500)
    many = from_row(row, max_tokens=100)
    assert len(many.spans) == 1000 and "first 1000 of 1500 spans" in many.problems[-1]


def test_a_flat_parse_of_a_long_text_stays_small():
    """2,000 tokens all attached to the first: long arcs keep their two ends only, a row
    draws at most 60 arcs and says how many it left out."""
    n = 2000
    doc = DisplayDoc(text=" ".join(["w"] * n), starts=list(range(0, 2 * n, 2)),
                     ends=list(range(1, 2 * n, 2)), heads=[0] * n, deps=["x"] * n)
    fragment = display.render(doc, "dep")
    assert len(fragment) < 3_000_000
    root = parse(fragment)
    for svg in _rows(root):
        assert len(svg.findall(f"{SVG}g[@class='nc-arc']")) <= 60
    assert "are not drawn: more than 60 meet there" in "".join(root.itertext())


def test_many_overlapping_spans_stack_at_most_20_deep():
    doc = DisplayDoc(text="a b c", starts=[0, 2, 4], ends=[1, 3, 5],
                     spans=[("sc", 0, 5, f"L{k}") for k in range(500)])
    root = parse(display.render(doc, "span"))
    for token in root.findall(".//span[@class='nc-tok']"):
        assert len(token.findall("span")) == 1 + 20
    assert "480 span(s) not drawn: more than 20 overlap" in "".join(root.itertext())
