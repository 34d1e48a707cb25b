"""The trained default pipeline `en_ewt_sm` that ships inside the package."""
from pathlib import Path

import pytest
from shared_data import shared_path

import nlp_core
from nlp_core.training.corpus import Corpus

NAME = "en_ewt_sm"


@pytest.fixture(scope="module")
def nlp():
    return nlp_core.load(NAME)


def test_listed_and_within_the_size_limit():
    assert NAME in nlp_core.shipped_pipelines()
    folder = Path(nlp_core.__file__).parent / "models" / NAME
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size <= 25_000_000


def test_meta_records_its_test_scores(nlp):
    assert f"{nlp.meta['lang']}_{nlp.meta['name']}" == NAME
    assert nlp.pipe_names == ["tok2vec", "tagger", "upos", "parser", "ner"]
    performance = nlp.meta["performance"]
    assert set(performance) == {"ewt_test_gold_tokens", "ewt_test_raw_text",
                                "uner_test_raw_text"}
    assert performance["ewt_test_gold_tokens"]["dep_las"] > 0.5
    assert performance["uner_test_raw_text"]["ents_f"] > 0.2
    assert {source["name"] for source in nlp.meta["sources"]} == {"UD English EWT",
                                                                   "UNER English-EWT"}


def test_annotates_raw_text(nlp):
    doc = nlp("Barack Obama visited the offices of Microsoft in Seattle on Tuesday. "
              "He met the staff there.")
    assert all(token.tag_ and token.pos_ and token.dep_ for token in doc)
    assert len(list(doc.sents)) == 2
    roots = [token for token in doc if token.dep_ == "ROOT"]
    assert [root.text for root in roots] == ["visited", "met"]
    assert {ent.label_ for ent in doc.ents} <= {"PER", "ORG", "LOC"}
    doc = nlp("I met John Smith at Google in London last week.")
    assert [(ent.text, ent.label_) for ent in doc.ents] == [
        ("John Smith", "PER"), ("Google", "ORG"), ("London", "LOC")]


def test_accuracy_on_ewt_test_slice(nlp):
    """The first 300 sentences of EWT test with gold tokens: the scores it ships with,
    within the variation of a slice."""
    path = shared_path("ud_english_ewt", "en_ewt-ud-test.conllu")
    examples = list(Corpus(path, gold_preproc=True, limit=300)(nlp))
    assert len(examples) == 300
    scores = nlp.evaluate(examples)
    assert scores["tag_acc"] > 0.88
    assert scores["pos_acc"] > 0.88
    assert scores["dep_las"] > 0.72


def test_unknown_name_lists_the_shipped_pipelines():
    with pytest.raises(OSError, match=NAME):
        nlp_core.load("en_no_such_pipeline")
