"""Corpus readers on fixtures derived from ../shared/data (EWT) and the interop DocBin."""
import json
import shutil
from pathlib import Path

import pytest
from confection import Config

import nlp_core
from nlp_core.formats import read_conllu, write_spacy
from nlp_core.registry import registry
from nlp_core.tokens import Doc
from nlp_core.training import Corpus, Example, JsonlCorpus
from nlp_core.training.loop import resolve_corpus
from tests.shared_data import shared_path

FIXTURES = Path(__file__).parents[1] / "fixtures" / "training"
TRAIN = FIXTURES / "ewt-train-60.conllu"
DEV = FIXTURES / "ewt-dev-20.conllu"



def test_conllu_file_gives_examples_tokenized_from_the_gold_text(nlp):
    examples = list(Corpus(TRAIN)(nlp))
    assert len(examples) == 60
    for eg in examples:
        assert isinstance(eg, Example)
        assert eg.predicted.text == eg.reference.text
        assert not eg.predicted.has_annotation("TAG")
        assert eg.reference.has_annotation("TAG")
    assert examples[0].reference[0].text == "Al"
    # the tokenizer decides the predicted tokens; gold tokens stay as annotated
    assert any(eg.predicted.token_texts() != eg.reference.token_texts() for eg in examples)


def test_gold_preproc_predicts_over_gold_tokens(nlp):
    for eg in Corpus(DEV, gold_preproc=True)(nlp):
        assert eg.predicted.token_texts() == eg.reference.token_texts()
        assert eg.alignment.is_one_to_one
        assert not eg.predicted.has_annotation("TAG")


def test_spacy_docbin_and_limit(nlp):
    path = shared_path("interop", "ewt-dev-sm.spacy")
    examples = list(Corpus(path)(nlp))
    assert len(examples) == 200
    assert sum(len(eg.reference) for eg in examples) == 4011
    assert len(list(Corpus(path, limit=7)(nlp))) == 7


def test_a_directory_is_read_recursively_in_sorted_order(nlp, tmp_path):
    (tmp_path / "b").mkdir()
    shutil.copy(TRAIN, tmp_path / "b" / "train.conllu")
    shutil.copy(DEV, tmp_path / "a.conllu")
    (tmp_path / "notes.txt").write_text("not a corpus")
    corpus = Corpus(tmp_path)
    assert corpus.files() == [tmp_path / "a.conllu", tmp_path / "b" / "train.conllu"]
    assert len(list(corpus(nlp))) == 80


def test_the_corpus_is_read_anew_each_call(nlp):
    corpus = Corpus(DEV)
    first, second = list(corpus(nlp)), list(corpus(nlp))
    assert len(first) == len(second) == 20
    assert first[0].predicted is not second[0].predicted


def test_max_length_splits_long_docs_into_sentences(nlp, tmp_path):
    docs = list(read_conllu(TRAIN, vocab=nlp.vocab, n_sents=10))
    path = tmp_path / "docs.spacy"
    write_spacy(docs, path)
    sentence_lengths = [len(d) for d in read_conllu(TRAIN, vocab=nlp.vocab)]
    max_length = 30
    corpus = Corpus(path, max_length=max_length, gold_preproc=True)
    with pytest.warns(UserWarning, match="longer than max_length = 30"):
        examples = list(corpus(nlp))
    assert all(len(eg.reference) < max_length for eg in examples)
    assert len(examples) == sum(n < max_length for n in sentence_lengths)
    assert corpus.skipped["long_sents"] == sum(n >= max_length for n in sentence_lengths)
    # without a limit every doc stays whole
    assert len(list(Corpus(path)(nlp))) == 6


def test_augmenter_replaces_each_example(nlp):
    def twice(nlp, example):
        yield example
        yield example.copy()

    assert len(list(Corpus(DEV, augmenter=twice)(nlp))) == 40


def test_missing_path_names_the_path_and_the_config_key(nlp, tmp_path):
    missing = tmp_path / "nope.spacy"
    with pytest.raises(FileNotFoundError, match="nope.spacy"):
        list(Corpus(missing)(nlp))
    config = Config().from_str(f"""
[paths]
dev = "{missing}"

[corpora]

[corpora.dev]
@readers = "spacy.Corpus.v1"
path = ${{paths.dev}}
""", interpolate=False)
    corpus = resolve_corpus(config.interpolate(), config, "corpora.dev")
    with pytest.raises(FileNotFoundError) as err:
        list(corpus(nlp))
    message = str(err.value)
    assert "[corpora.dev] path" in message and "--paths.dev" in message
    assert str(missing) in message


def test_no_path_says_how_to_set_it(nlp):
    with pytest.raises(ValueError, match="--paths.train"):
        list(Corpus(None)(nlp))


def test_empty_file_and_empty_directory_are_errors(nlp, tmp_path):
    empty = tmp_path / "empty.conllu"
    empty.write_text("")
    with pytest.raises(ValueError, match="holds no documents"):
        list(Corpus(empty)(nlp))
    (tmp_path / "dir").mkdir()
    with pytest.raises(ValueError, match="holds no corpus files"):
        list(Corpus(tmp_path / "dir")(nlp))
    odd = tmp_path / "data.csv"
    odd.write_text("a,b")
    with pytest.raises(ValueError, match="unsupported type"):
        list(Corpus(odd)(nlp))


def test_docs_without_tokens_are_skipped_with_a_count(nlp, tmp_path):
    docs = list(read_conllu(DEV, vocab=nlp.vocab))[:3]
    docs.insert(1, Doc(nlp.vocab, words=[]))
    path = tmp_path / "with_empty.spacy"
    write_spacy(docs, path)
    corpus = Corpus(path)
    with pytest.warns(UserWarning, match="Skipped 1 document"):
        examples = list(corpus(nlp))
    assert len(examples) == 3
    assert corpus.skipped == {"empty": 1}


def test_texts_that_cannot_be_aligned_are_skipped_naming_the_first(tmp_path):
    nlp = nlp_core.blank("en")
    # a tokenizer that changes the text: its tokens cannot be aligned to the gold ones
    nlp.tokenizer = lambda text: Doc(nlp.vocab, words=text.split() + ["extra"])
    corpus = Corpus(DEV)
    with pytest.warns(UserWarning, match="texts differ") as record:
        examples = list(corpus(nlp))
    assert examples == []
    assert corpus.skipped["misaligned"] == 20
    assert "Skipped 20 document(s)" in str(record[0].message)
    # the warning is given once per corpus object, not at every evaluation
    with _no_warning():
        list(corpus(nlp))


class _no_warning:
    def __enter__(self):
        import warnings

        self.catcher = warnings.catch_warnings(record=True)
        self.record = self.catcher.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self.catcher.__exit__(*exc)
        assert not self.record


def test_jsonl_corpus_tokenizes_raw_text_with_length_bounds(nlp, tmp_path):
    path = tmp_path / "raw.jsonl"
    texts = ["One two three.", "Short", "A much longer text with many more tokens in it ."]
    path.write_text("\n".join(json.dumps({"text": t}) for t in texts) + "\n")
    examples = list(JsonlCorpus(path)(nlp))
    assert [eg.predicted.text for eg in examples] == texts
    assert examples[0].predicted is examples[0].reference
    corpus = JsonlCorpus(path, min_length=2, max_length=10)
    bounded = list(corpus(nlp))
    # the 11-token text is split (spaCy drops it), "Short" is below min_length
    assert [eg.text for eg in bounded] == ["One two three.",
                                           "A much longer text with many more tokens in ",
                                           "it ."]
    assert (corpus.stats["split"], corpus.stats["pieces"], corpus.stats["too_short"]) == (
        1, 2, 1)
    assert len(list(JsonlCorpus(path, limit=2)(nlp))) == 2


def test_readers_are_registered_under_both_names():
    for name in ("nlp_core.Corpus.v1", "spacy.Corpus.v1"):
        reader = registry.resolve(Config({"r": {"@readers": name, "path": str(DEV),
                                                "limit": 3}}))["r"]
        assert isinstance(reader, Corpus) and reader.limit == 3
    for name in ("nlp_core.JsonlCorpus.v1", "spacy.JsonlCorpus.v1"):
        reader = registry.resolve(Config({"r": {"@readers": name, "path": "x.jsonl"}}))["r"]
        assert isinstance(reader, JsonlCorpus)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.bz2", ".jsonl.xz",
                                    ".jsonl.zst"])
def test_jsonl_corpus_reads_plain_and_compressed_files(nlp, tmp_path, suffix):
    import bz2
    import gzip
    import lzma

    import zstandard

    lines = "".join(json.dumps({"text": f"Text number {i} is here ."}) + "\n"
                    for i in range(5)).encode("utf8")
    compress = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress,
                ".zst": zstandard.ZstdCompressor().compress}.get(Path(suffix).suffix)
    (tmp_path / f"raw{suffix}").write_bytes(compress(lines) if compress else lines)
    (tmp_path / "notes.txt").write_text("not a corpus file")
    texts = [eg.reference.text for eg in JsonlCorpus(tmp_path)(nlp)]
    assert texts == [f"Text number {i} is here ." for i in range(5)]


def test_a_damaged_zst_file_is_named(nlp, tmp_path):
    import zstandard

    data = zstandard.ZstdCompressor().compress(b'{"text": "Hello there ."}\n' * 2000)
    path = tmp_path / "raw.jsonl.zst"
    path.write_bytes(data[:len(data) // 2] + b"\x00" * 64)
    with pytest.raises(ValueError, match="raw.jsonl.zst"):
        list(JsonlCorpus(path)(nlp))
