"""Prefixes, suffixes, infixes, URLs and e-mail addresses with the English rules."""
import pytest


def texts(doc):
    return [t.text for t in doc]



@pytest.mark.parametrize("text,expected", [
    ("(hello)", ["(", "hello", ")"]),
    ('"Hi!"', ['"', "Hi", "!", '"']),
    ("wow!!!", ["wow", "!!!"]),
    ("what?!", ["what", "?!"]),
    ("$100", ["$", "100"]),
    ("100%", ["100", "%"]),
    ("5km", ["5", "km"]),
    ("10:30pm", ["10:30", "pm"]),
    ("3.5", ["3.5"]),
    ("1,000,000", ["1,000,000"]),
    ("USA.", ["USA", "."]),
    ("end...", ["end", "..."]),
    ("''quoted''", ["''", "quoted", "''"]),
    ("'72", ["'72"]),
    ("+44", ["+44"]),
    ("<<Attachment>>", ["<<", "Attachment", ">>"]),
    ("20th", ["20th"]),
    ("1970s", ["1970s"]),
])
def test_prefixes_and_suffixes(en_tokenizer, text, expected):
    assert texts(en_tokenizer(text + " x")) == expected + ["x"]


@pytest.mark.parametrize("text,expected", [
    ("search-engine", ["search", "-", "engine"]),
    ("full-fledged", ["full", "-", "fledged"]),
    ("AK-47", ["AK", "-", "47"]),
    ("1990-1995", ["1990", "-", "1995"]),
    ("e-mail", ["e-mail"]),
    ("non-stop", ["non-stop"]),
    ("Re-read", ["Re-read"]),
    ("and/or", ["and", "/", "or"]),
    ("b/c", ["b/c"]),
    ("9/11", ["9/11"]),
    ("11/28/2000", ["11/28/2000"]),
    ("hello...world", ["hello", "...", "world"]),
    ("this,that", ["this", ",", "that"]),
    ("word--word", ["word", "--", "word"]),
    ("end.Start", ["end", ".", "Start"]),
    ("2pm-5pm", ["2", "pm", "-", "5", "pm"]),
    ("713-853-3989", ["713-853-3989"]),
    ("1-800-991-9019", ["1-800-991-9019"]),
])
def test_infixes(en_tokenizer, text, expected):
    assert texts(en_tokenizer(text + " x")) == expected + ["x"]


@pytest.mark.parametrize("url", [
    "http://www.google.com/search?q=a-b&x=1",
    "https://en.wikipedia.org/wiki/Tokenization_(lexical_analysis)",
    "www.risk-conferences.com/risk2001aus",
    "example.co.uk",
    "ftp://files.example.org/pub/x-1.tar.gz",
])
def test_urls_stay_whole(en_tokenizer, url):
    assert texts(en_tokenizer(f"see {url} now")) == ["see", url, "now"]
    assert texts(en_tokenizer(f"({url}).")) == ["(", url, ")", "."]


@pytest.mark.parametrize("email", ["foo@bar.com", "Chris.Germany@enron.com",
                                   "first_last+tag@mail.example.co.uk"])
def test_emails_stay_whole(en_tokenizer, email):
    assert texts(en_tokenizer(f"mail {email}.")) == ["mail", email, "."]
    assert texts(en_tokenizer(f"<{email}>")) == ["<", email, ">"]


def test_explain_names_the_rules(en_tokenizer):
    trace = en_tokenizer.explain("(don't) see www.x.com e-mail!")
    assert trace == [("PREFIX", "("), ("SPECIAL", "do"), ("SPECIAL", "n't"),
                     ("SUFFIX", ")"), ("TOKEN", "see"), ("URL_MATCH", "www.x.com"),
                     ("TOKEN", "e-mail"), ("SUFFIX", "!")]


def test_long_chunks_keep_long_suffix_runs(en_tokenizer):
    word = "a" * 2000
    assert texts(en_tokenizer(word + "!" * 100)) == [word, "!" * 100]
    assert texts(en_tokenizer(word + "?" + "." * 100)) == [word, "?" + "." * 100]
    assert texts(en_tokenizer(word + "'s")) == [word, "'s"]


class _CountingPattern:
    """A compiled pattern that counts the characters its searches may scan."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.scanned = 0

    def search(self, text, pos=0):
        self.scanned += len(text) - pos
        return self.pattern.search(text, pos)


def test_pathological_brackets_take_linear_time():
    """Stripping 4,000 suffixes one at a time must not rescan the chunk each time: the
    suffix searches scan O(len(text) x SUFFIX_WINDOW) characters, not O(len(text)^2)
    (counted, not timed)."""
    from tokenizer.conftest import make_en_tokenizer

    from nlp_core.tokenizer.rules import SUFFIX_WINDOW

    tokenizer = make_en_tokenizer()
    splitter = tokenizer._splitter
    counter = _CountingPattern(splitter._suffix_pattern)
    object.__setattr__(splitter, "_suffix_pattern", counter)
    object.__setattr__(splitter, "suffix_search", counter.search)
    text = "(" * 4000 + "word" + ")" * 4000
    doc = tokenizer(text)
    assert len(doc) == 8001 and doc.text == text
    # quadratic rescanning would scan about 16M characters here
    assert 0 < counter.scanned <= 2 * SUFFIX_WINDOW * len(text), counter.scanned
