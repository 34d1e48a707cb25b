"""The pure parts of the pretraining-corpus job: normalisation, the Gopher filters, the
boilerplate lines, piece packing, the shuffle key and the shard ranks."""
import random

import pytest

from beam_jobs.pretraining_filters import (
    RULES,
    FilterSettings,
    check_quality,
    duplicate_ngram_share,
    duplicate_share,
    top_ngram_share,
)
from beam_jobs.pretraining_options import dedupe_steps, parse_options
from beam_jobs.pretraining_pieces import MakePieces, doc_pieces, pack
from beam_jobs.pretraining_read import format_of, resolve_input_format
from beam_jobs.pretraining_shards import _ranked, bucket_of, shuffle_key
from beam_jobs.pretraining_text import line_hashes, normalise, remove_lines, text_hash
from nlp_core import blank

# a plain English paragraph of ~60 words that passes every Gopher rule
GOOD = ("The river runs through the old town, and the people who live there have built "
        "bridges of stone and wood over the centuries. Each bridge tells a story of the "
        "merchants, farmers and soldiers that crossed it. Visitors come in summer to walk "
        "along the banks with their families, to eat in small restaurants and to watch the "
        "boats that carry goods down to the sea.")


def test_normalise_unicode_controls_whitespace():
    text = "Cafe\u0301\r\nline\x00two\x07  \t end\u00a0x\u2028next\n\n\n\nlast \ud800 "
    assert normalise(text) == "Café\nlinetwo end x\nnext\n\nlast"
    assert normalise("ﬁ ①", "NFKC") == "fi 1"
    assert normalise("ﬁ", "none") == "ﬁ"
    assert normalise("e\u0301", "none") == "e\u0301"
    assert normalise("   \x01 ") == ""


def test_exact_duplicates_differing_in_form_hash_alike():
    assert text_hash(normalise("Café  ok")) == text_hash(normalise("Cafe\u0301 ok \r\n"))
    assert text_hash("a") != text_hash("b")


def test_good_text_passes_and_rules_are_named():
    assert check_quality(GOOD) is None
    assert len(set(RULES)) == len(RULES)


@pytest.mark.parametrize("text,reason", [
    ("word " * 10, "too_few_words"),
    (" ".join(["a"] * 60), "mean_word_length"),
    (" ".join(["extraordinarily"] * 60), "mean_word_length"),
    (GOOD + " #tag" * 20, "symbol_ratio"),
    ("\n".join(f"- the item number {i} with more words" for i in range(12)), "bullet_lines"),
    ("\n".join(f"and the story of the town goes on and on with the river {i} ..."
               for i in range(12)), "ellipsis_lines"),
    (GOOD + " 123 456 789 1011 1213 1415 1617 1819 2021 2223 2425 2627 2829 3031 3233 "
            "3435 3637 3839", "alpha_words"),
    (" ".join(random.Random(0).choice(["river", "stone", "bridge", "boats", "summer"])
              for _ in range(60)), "stop_words"),
])
def test_each_rule_names_its_reason(text, reason):
    assert check_quality(text) == reason


def test_repetition_rules():
    lines = [f"the line number {i} of this page is here with the words" for i in range(6)]
    repeated = "\n".join(lines + [lines[0]] * 4)
    assert duplicate_share(repeated.split("\n"))[0] == pytest.approx(0.4)
    assert check_quality(repeated) == "duplicate_lines"
    words = GOOD.split()
    looped = " ".join(words[:30] + words[:30] + words[30:60])
    assert duplicate_ngram_share(looped.split(), 5, sum(map(len, looped.split()))) > 0.3
    assert check_quality(looped) in {"duplicate_line_chars", "duplicate_5gram",
                                     "top_2gram", "top_3gram", "top_4gram"}
    assert duplicate_ngram_share(words, 5, sum(map(len, words))) == 0.0
    spam = ("buy now " * 40 + GOOD).split()
    assert top_ngram_share(spam, 2, sum(map(len, spam))) > 0.2
    assert check_quality(" ".join(spam)) == "top_2gram"


def test_thresholds_are_settings():
    short = "the river and the town " * 4
    assert check_quality(short) == "too_few_words"
    assert check_quality(short, FilterSettings(min_words=5, gopher=False)) is None
    assert check_quality(GOOD, FilterSettings(max_words=10)) == "too_many_words"
    assert check_quality(GOOD, FilterSettings(min_chars=10_000)) == "too_few_chars"


def test_boilerplate_lines():
    text = "Home | About | Contact\nThe real content.\n\nCopyright 2024"
    hashes = set(line_hashes(text))
    assert len(hashes) == 3
    boiler = {h for h in hashes if h in set(line_hashes("Home | About | Contact\nx\n"
                                                         "Copyright 2024"))}
    assert remove_lines(text, boiler) == "The real content."
    assert remove_lines(text, set()) == text


def test_pack_sentences_into_pieces():
    sentences = [(0, 4), (4, 6), (6, 16), (16, 18)]
    assert pack(sentences, 6) == [(0, 6), (6, 12), (12, 18)]  # a cut sentence's rest packs on
    assert pack(sentences, 100) == [(0, 18)]
    assert pack(sentences, 0) == sentences
    assert pack([(0, 10)], 4) == [(0, 4), (4, 8), (8, 10)]
    assert pack([], 5) == []


def test_shuffle_key_depends_on_content_and_seed_only():
    a = shuffle_key(1, "d1", "some text")
    assert a == shuffle_key(1, "d1", "some text")
    assert a != shuffle_key(2, "d1", "some text")
    assert a != shuffle_key(1, "d2", "some text")
    assert 0 <= a < 1 << 63 and 0 <= bucket_of(a) < 1024


def test_ranks_continue_across_buckets():
    sizes = {0: (2, 10), 3: (3, 15), 7: (1, 5)}
    docs = [(30, "x", "aaaaa"), (10, "y", "bbbbb"), (20, "z", "ccccc")]
    by_docs = list(_ranked((3, docs), sizes, 2, 0))
    assert by_docs == [(1, (2, "y", "bbbbb")), (1, (3, "z", "ccccc")),
                       (2, (4, "x", "aaaaa"))]
    by_bytes = list(_ranked((3, docs), sizes, 0, 12))
    assert [shard for shard, _ in by_bytes] == [0, 1, 1]


def test_formats_and_options():
    assert format_of("a/b.jsonl.gz") == "jsonl" and format_of("x.TXT.zst") == "text"
    assert format_of("x.parquet") == "parquet" and format_of("x.csv") == ""
    assert resolve_input_format("auto", ["a.txt", "b.txt.gz"]) == "text"
    with pytest.raises(ValueError, match="--input-format"):
        resolve_input_format("auto", ["a.csv"])
    with pytest.raises(ValueError, match="several formats"):
        resolve_input_format("auto", ["a.txt", "b.jsonl"])
    assert dedupe_steps("near,exact") == ["exact", "near"] and dedupe_steps("none") == []
    with pytest.raises(ValueError, match="--dedupe"):
        dedupe_steps("fuzzy")
    for argv, message in [(["--output", "o"], "Missing --input"),
                          (["--input", "i", "--output", "o", "--threshold", "1.5"],
                           "--threshold"),
                          (["--input", "i", "--output", "o", "--input-format", "csv"],
                           "--input-format"),
                          (["--input", "i", "--output", "o", "--bogus"], "Unknown"),
                          (["--input", "i", "--output", "o", "--min-words", "9",
                            "--max-words", "3"], "--max-words")]:
        with pytest.raises(ValueError, match=message):
            parse_options(argv)


def test_doc_pieces_cut_at_token_boundaries():
    nlp = blank("en")
    doc = nlp.make_doc("One two three, four five six seven. Eight nine ten.")
    pieces = doc_pieces(doc, False, 4)
    assert pieces == ["One two three,", "four five six seven", ". Eight nine ten", "."]
    assert doc_pieces(doc, False, 0) == [doc.text]


def test_a_failed_document_names_its_position():
    pieces = MakePieces("blank:en", False, 4, "in/*.txt")
    assert pieces._position("in/a.txt@120") == ("in/a.txt", 120)
    assert pieces._position("doc-7") == ("in/*.txt", 0)
