"""`init vectors`: spaCy's layout with spaCy's bytes, pruning that never reorders rows and
maps every key to its true nearest kept row, the prune report, and each way a file can be
bad, repeated or cut."""
import json

import numpy
import pytest
import srsly
from shared_data import shared_path
from typer.testing import CliRunner
from vector_files import brute_force, glove_table, write_glove, write_word2vec_text

import nlp_core
from nlp_core.cli import app
from nlp_core.cli.init_vectors import init_vectors
from nlp_core.strings import get_string_id

runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["init", "vectors", *[str(a) for a in args]])


def table_files(path):
    vocab = path / "vocab"
    return (numpy.load(vocab / "vectors", allow_pickle=False),
            srsly.read_msgpack(vocab / "key2row"), srsly.read_json(vocab / "vectors.cfg"))


@pytest.fixture(scope="module")
def small_glove():
    return glove_table(5000)


# --- interop with spaCy's own output ------------------------------------------------------

@pytest.mark.parametrize("prune,spacy_dir", [(0, "vectors-small-spacy"),
                                             (500, "vectors-small-spacy-prune500")])
def test_output_has_spacys_layout_and_bytes(tmp_path, prune, spacy_dir):
    source = shared_path("interop", "vectors-small.txt")
    expected = shared_path("interop", spacy_dir)
    out = tmp_path / "out"
    result = run("en", source, out, "--prune", prune)
    assert result.exit_code == 0, result.output
    ours, spacys = table_files(out), table_files(expected)
    assert ours[0].dtype == spacys[0].dtype == numpy.float32
    assert numpy.array_equal(ours[0], spacys[0])           # the kept rows, in order
    remaps = [ours[1].get(key) == row for key, row in spacys[1].items()]
    print(f"--prune {prune}: {sum(remaps)}/{len(remaps)} keys on spaCy's row")
    assert sum(remaps) == len(remaps) == 2000
    assert ours[2]["mode"] == spacys[2]["mode"] == "default"
    # the files themselves: .npy header and msgpack encoding as spaCy writes them
    for name in ("vectors", "key2row"):
        assert (out / "vocab" / name).read_bytes() == (expected / "vocab" / name).read_bytes()
    strings = set(srsly.read_json(out / "vocab" / "strings.json"))
    assert strings <= set(srsly.read_json(expected / "vocab" / "strings.json"))
    assert all(word in strings or get_string_id(word) < 1000
               for word in _words(source))
    config = (out / "config.cfg").read_text(encoding="utf8")
    assert '"@tokenizers":"spacy.Tokenizer.v1"' in config.replace(" ", "")
    assert '"@vectors":"spacy.Vectors.v1"' in config.replace(" ", "")
    meta = srsly.read_json(out / "meta.json")
    assert meta["lang"] == "en"
    assert meta["vectors"] == {"width": 50, "vectors": 2000 if not prune else 500,
                               "keys": 2000, "name": "en_pipeline.vectors",
                               "mode": "default"}


def _words(path):
    lines = path.read_text(encoding="utf8").splitlines()[1:]
    return [line.rsplit(" ", 50)[0] for line in lines]


def test_nlp_core_load_opens_the_output_with_the_same_vectors(tmp_path):
    source = shared_path("interop", "vectors-small.txt")
    init_vectors("en", str(source), tmp_path / "out", prune=500, attr="LOWER",
                 name="small", progress=False)
    nlp = nlp_core.load(tmp_path / "out")
    vectors = nlp.vocab.vectors
    assert vectors.shape == (500, 50) and len(vectors.key2row) == 2000
    assert vectors.name == "small" and vectors.attr_ == "LOWER"
    spacy_table, spacy_rows, _ = table_files(shared_path("interop",
                                                         "vectors-small-spacy-prune500"))
    for word in ("the", "Regards", "unable"):
        key = nlp.vocab.strings[word]
        assert numpy.array_equal(vectors[key], spacy_table[spacy_rows[key]])


# --- pruning: nearest kept row, no reordering -----------------------------------------

def check_prune(tmp_path, words, table, keep, sample):
    """Plant a duplicate of row 10 at row 60, convert with --prune `keep`, and check that
    the kept rows are the file's first `keep` and every remap in `sample` is the brute-force
    nearest kept row."""
    table = table.copy()
    table[60] = table[10]
    path = write_glove(tmp_path / "glove.txt", words, table)
    out = tmp_path / "out"
    result = run("en", path, out, "--prune", keep)
    assert result.exit_code == 0, result.output
    kept, key2row, _ = table_files(out)
    assert numpy.array_equal(kept, table[:keep])
    assert [key2row[get_string_id(w)] for w in words[:keep]] == list(range(keep))
    rng = numpy.random.default_rng(0)
    pruned = numpy.arange(keep, len(words))
    if sample < len(pruned):
        pruned = numpy.sort(rng.choice(pruned, sample, replace=False))
    expected, _ = brute_force(table[:keep], table[pruned])
    got = numpy.array([key2row[get_string_id(words[i])] for i in pruned])
    assert numpy.array_equal(got, expected), f"{(got != expected).sum()} remaps differ"
    return srsly.read_json(out / "prune_report.json")


def test_prune_keeps_the_first_rows_and_remaps_to_the_nearest(tmp_path, small_glove):
    words, table = small_glove
    report = check_prune(tmp_path, words, table, keep=1000, sample=4000)
    assert report["rows_in"] == 5000 and report["keys_remapped"] == 4000


@pytest.mark.slow
def test_prune_20000_of_glove_400k(tmp_path):
    words, table = glove_table()
    report = check_prune(tmp_path, words, table, keep=20000, sample=6000)
    assert report["rows_in"] == 400000 and report["keys_remapped"] == 380000


def test_prune_report_contents(tmp_path, small_glove):
    words, table = small_glove
    path = write_word2vec_text(tmp_path / "v.txt", words[:600], table[:600])
    init_vectors("en", str(path), tmp_path / "out", prune=100, progress=False)
    report = json.loads((tmp_path / "out" / "prune_report.json").read_text())
    assert {k: report[k] for k in ("rows_in", "rows_kept", "keys", "keys_remapped")} == {
        "rows_in": 600, "rows_kept": 100, "keys": 600, "keys_remapped": 500}
    sims = report["similarity"]
    assert -1 <= sims["min"] <= sims["p5"] <= sims["mean"] <= 1
    worst = report["worst"]
    assert len(worst) == 20 and worst[0]["score"] == sims["min"]
    unit = table[:600] / numpy.linalg.norm(table[:600], axis=1)[:, None]
    index = {w: i for i, w in enumerate(words[:600])}
    for remap in worst:
        i, j = index[remap["word"]], index[remap["kept_word"]]
        assert i >= 100 and j < 100
        assert remap["score"] == pytest.approx(float(unit[i] @ unit[j]), abs=1e-5)


# --- rows: truncation, repeats, bad lines, headers ---------------------------------------

def test_truncate_reads_only_the_first_rows(tmp_path, small_glove):
    words, table = small_glove
    path = write_glove(tmp_path / "glove.txt", words[:500], table[:500])
    result = run("en", path, tmp_path / "out", "--truncate", 120)
    assert result.exit_code == 0, result.output
    kept, key2row, _ = table_files(tmp_path / "out")
    assert numpy.array_equal(kept, table[:120]) and len(key2row) == 120


def test_repeated_words_keep_their_first_occurrence(tmp_path, small_glove):
    words, table = small_glove
    words = list(words[:50]) + ["the", "of"]
    table = numpy.concatenate([table[:50], table[50:52]])
    path = write_word2vec_text(tmp_path / "v.txt", words, table)
    result = run("en", path, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "Skipped 2 repeated words" in result.output and "'the' at line 52" in result.output
    kept, key2row, _ = table_files(tmp_path / "out")
    assert numpy.array_equal(kept, table[:50]) and key2row[get_string_id("the")] == 0


def test_bad_line_fails_with_its_number_or_is_skipped(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("3 2\na 1 2\nb 1 oops\nc 3 4\n", encoding="utf8")
    result = run("en", path, tmp_path / "out")
    assert result.exit_code == 1
    assert "[E080]" in result.output and "line 3" in result.output
    assert not (tmp_path / "out").exists()
    result = run("en", path, tmp_path / "out", "--skip-bad-lines")
    assert result.exit_code == 0, result.output
    assert "Skipped 1 bad rows (first: line 3: a field is not a number: 'oops')" in \
        result.output
    assert table_files(tmp_path / "out")[0].tolist() == [[1, 2], [3, 4]]


def test_header_row_count_must_match(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("5 2\na 1 2\nb 3 4\n", encoding="utf8")
    result = run("en", path, tmp_path / "out")
    assert result.exit_code == 1 and "[E086]" in result.output
    assert "says 5 rows but 2 follow" in result.output


# --- floret ------------------------------------------------------------------------------

FLORET = "4 3 3 5 2 2166136261 < >\n0 1 2 3\n1 4 5 6\n2 7 8 9\n3 1 0 1\n"


def test_floret_mode_writes_a_floret_table(tmp_path):
    path = tmp_path / "v.floret"
    path.write_text(FLORET, encoding="utf8")
    result = run("en", path, tmp_path / "out", "--mode", "floret")
    assert result.exit_code == 0, result.output
    data, _, cfg = table_files(tmp_path / "out")
    assert data.shape == (4, 3)
    assert {k: cfg[k] for k in ("mode", "minn", "maxn", "hash_count", "hash_seed", "bow",
                                "eow")} == {"mode": "floret", "minn": 3, "maxn": 5,
                                            "hash_count": 2, "hash_seed": 2166136261,
                                            "bow": "<", "eow": ">"}
    assert nlp_core.load(tmp_path / "out").vocab.vectors.mode == "floret"


@pytest.mark.parametrize("option", [("--prune", "2"), ("--truncate", "2"),
                                    ("--skip-bad-lines",)])
def test_row_options_do_not_apply_in_floret_mode(tmp_path, option):
    path = tmp_path / "v.floret"
    path.write_text(FLORET, encoding="utf8")
    result = run("en", path, tmp_path / "out", "--mode", "floret", *option)
    assert result.exit_code == 1
    assert "[E084]" in result.output and "does not apply in floret mode" in result.output


def test_help_explains_every_option():
    result = run("--help")
    assert result.exit_code == 0
    for option in ("--prune", "--truncate", "--mode", "--name", "--attr", "--batch-size",
                   "--skip-bad-lines"):
        assert option in result.output


def test_vectors_cfg_values_have_the_types_spacy_reads(tmp_path):
    init_vectors("en", str(shared_path("interop", "vectors-small.txt")), tmp_path / "out",
                 progress=False)
    cfg = table_files(tmp_path / "out")[2]
    # spaCy reads mode as str, the floret settings as ints/strs and attr as an int ID
    assert isinstance(cfg.get("attr", 65), int)


@pytest.mark.parametrize("prune", [0, 3000])
def test_repeats_across_blocks_keep_the_first_row_and_the_table_is_compact(tmp_path, prune):
    words, table = glove_table(6000)   # ~2.5 MB of text: several blocks of rows
    words = list(words)
    # row 4500 repeats row 10 (another block), row 4001 repeats row 4000 (the same block),
    # the last row repeats row 5998 (after pruning's kept rows)
    for i, j in ((4500, 10), (4001, 4000), (5999, 5998)):
        words[i] = words[j]
    path = write_glove(tmp_path / "glove.txt", words, table)
    result = run("en", path, tmp_path / "out", *(["--prune", prune] if prune else []))
    assert result.exit_code == 0, result.output
    assert "Skipped 3 repeated words" in result.output
    assert f"{words[10]!r} at line 4501" in result.output
    firsts = [i for i in range(6000) if i not in (4500, 4001, 5999)]
    kept, key2row, _ = table_files(tmp_path / "out")
    n_kept = prune or len(firsts)
    assert numpy.array_equal(kept, table[firsts[:n_kept]])
    assert len(key2row) == len(firsts)
    assert [key2row[get_string_id(words[i])] for i in firsts[:n_kept]] == list(range(n_kept))
    meta = srsly.read_json(tmp_path / "out" / "meta.json")
    assert meta["vectors"]["keys"] == len(firsts) and meta["vectors"]["vectors"] == n_kept


# --- the output directory: replaced only when a conversion has succeeded -----------------

def test_a_failed_write_leaves_the_previous_output_whole(tmp_path, small_glove, monkeypatch):
    words, table = small_glove
    path = tmp_path / "v.txt"
    write_glove(path, words[:300], table[:300])
    out = tmp_path / "out"
    init_vectors("en", str(path), out, prune=100, progress=False)
    (out / "notes.txt").write_text("mine", encoding="utf8")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("nlp_core.cli.init_vectors.write_keys", broken)
    with pytest.raises(OSError, match="disk full"):
        init_vectors("en", str(path), out, progress=False)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "v.txt"]  # no debris


def test_a_rerun_replaces_the_pipeline_files_and_keeps_the_users(tmp_path, small_glove):
    words, table = small_glove
    path = tmp_path / "v.txt"
    write_glove(path, words[:300], table[:300])
    out = tmp_path / "out"
    init_vectors("en", str(path), out, prune=100, progress=False)
    (out / "notes.txt").write_text("mine", encoding="utf8")
    init_vectors("en", str(path), out, progress=False)
    kept, key2row, _ = table_files(out)
    assert kept.shape == (300, table.shape[1]) and len(key2row) == 300
    assert not (out / "prune_report.json").exists()  # the earlier run's report is stale
    assert (out / "notes.txt").read_text(encoding="utf8") == "mine"
    assert sorted(p.name for p in out.iterdir()) == [
        "config.cfg", "meta.json", "notes.txt", "tokenizer", "vocab"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "v.txt"]


# --- start-up: `init vectors` never imports torch ----------------------------------------

def test_init_vectors_runs_without_importing_torch(tmp_path):
    import subprocess
    import sys

    path = write_glove(tmp_path / "v.txt", ["a", "b"], numpy.eye(2, dtype="float32"))
    probe = ("import runpy, sys; sys.argv = ['nlp_core', 'init', 'vectors', 'en', "
             f"{str(path)!r}, {str(tmp_path / 'out')!r}]\n"
             "try:\n    runpy.run_module('nlp_core', run_name='__main__', alter_sys=True)\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "print('torch loaded:', sys.modules.get('torch') is not None)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "torch loaded: False" in done.stdout
    assert table_files(tmp_path / "out")[0].tolist() == [[1, 0], [0, 1]]


def test_only_torch_free_commands_block_torch():
    import sys

    from nlp_core.__main__ import block_unused_torch

    saved = sys.modules.pop("torch", None)
    try:
        assert not block_unused_torch(["nlp_core", "train", "config.cfg"])
        assert "torch" not in sys.modules
        assert block_unused_torch(["nlp_core", "init", "vectors", "en", "f", "out"])
        assert sys.modules["torch"] is None
    finally:  # this process's torch (if it had one) back in place for the other tests
        sys.modules.pop("torch", None)
        if saved is not None:
            sys.modules["torch"] = saved
