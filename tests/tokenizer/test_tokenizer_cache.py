"""The chunk cache: same results on hits as on misses, emptied when the rules change."""
import re

from nlp_core.tokenizer import Tokenizer


def texts(doc):
    return [t.text for t in doc]



def test_same_result_twice(fresh_en_tokenizer):
    text = "Hello, world! (Don't) worry: e-mail foo@bar.com... U.S. 100% :)"
    first = fresh_en_tokenizer(text)
    assert fresh_en_tokenizer.cache_size > 0
    second = fresh_en_tokenizer(text)
    assert texts(first) == texts(second)
    assert [t.whitespace_ for t in first] == [t.whitespace_ for t in second]
    assert list(first.column("orth")) == list(second.column("orth"))


def test_orths_are_in_the_string_store(fresh_en_tokenizer):
    doc = fresh_en_tokenizer("A brand-new sentence, isn't it?")
    strings = fresh_en_tokenizer.vocab.strings
    assert [strings[int(o)] for o in doc.column("orth")] == texts(doc)


def test_add_special_case_invalidates_cache(fresh_en_tokenizer):
    assert texts(fresh_en_tokenizer("kinda")) == ["kinda"]
    fresh_en_tokenizer.add_special_case("kinda", ["kind", "a"])
    assert fresh_en_tokenizer.cache_size == 0
    assert texts(fresh_en_tokenizer("kinda")) == ["kind", "a"]


def test_changing_a_rule_invalidates_cache(vocab):
    tokenizer = Tokenizer(vocab)
    assert texts(tokenizer("a-b")) == ["a-b"]
    tokenizer.infix_finditer = re.compile("-").finditer
    assert texts(tokenizer("a-b")) == ["a", "-", "b"]
    tokenizer.prefix_search = re.compile(r"^\(").search
    assert texts(tokenizer("(a")) == ["(", "a"]


def test_cache_is_bounded(vocab):
    tokenizer = Tokenizer(vocab, max_cache_entries=10)
    for i in range(25):
        assert texts(tokenizer(f"w{i} x{i}")) == [f"w{i}", f"x{i}"]
    assert tokenizer.cache_size <= 10
