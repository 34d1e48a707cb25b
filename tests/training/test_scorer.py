import pytest

from nlp_core.tokens import Doc
from nlp_core.training import Example
from nlp_core.training.scorer import (
    PRFScore,
    score_deps,
    score_sents,
    score_spans,
    score_token_attr,
    score_tokenization,
)


def test_prf_score_from_sets():
    score = PRFScore()
    score.score_set({1, 2, 3}, {2, 3, 4, 5})
    assert (score.tp, score.fp, score.fn) == (2, 1, 2)
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == pytest.approx(0.5)
    assert score.fscore == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert PRFScore().fscore == 0.0


def test_tag_accuracy_with_gold_tokens_is_plain_accuracy(vocab):
    words = ["I", "saw", "her", "duck", "."]
    gold = Doc(vocab, words=words, tags=["PRP", "VBD", "PRP", "NN", "."])
    pred = Doc(vocab, words=words, tags=["PRP", "VBD", "PRP$", "VB", "."])
    assert score_token_attr([Example(pred, gold)], "tag_") == {"tag__acc": pytest.approx(0.6)}
    assert score_token_attr([Example(pred, gold)], "tag")["tag_acc"] == pytest.approx(0.6)


def test_missing_gold_values_are_not_scored(vocab):
    words = ["a", "b", "c", "d"]
    gold = Doc(vocab, words=words, tags=["X", None, "Z", None])
    pred = Doc(vocab, words=words, tags=["X", "Y", "W", "V"])
    assert score_token_attr([Example(pred, gold)], "tag_")["tag__acc"] == pytest.approx(0.5)
    custom = score_token_attr([Example(pred, gold)], "tag_",
                              missing_values=frozenset({"", "Z"}))
    assert custom["tag__acc"] == pytest.approx(1.0)


def test_no_annotation_gives_none(vocab):
    doc = Doc(vocab, words=["a", "b"])
    assert score_token_attr([Example(doc, doc.copy())], "pos_") == {"pos__acc": None}
    assert score_token_attr([], "tag_") == {"tag__acc": None}


def test_getter_and_accumulation_over_examples(vocab):
    gold1 = Doc(vocab, words=["a", "b"], pos=["NOUN", "VERB"])
    pred1 = Doc(vocab, words=["a", "b"], pos=["NOUN", "NOUN"])
    gold2 = Doc(vocab, words=["c"], pos=["ADJ"])
    pred2 = Doc(vocab, words=["c"], pos=["ADJ"])
    examples = [Example(pred1, gold1), Example(pred2, gold2)]
    assert score_token_attr(examples, "pos")["pos_acc"] == pytest.approx(2 / 3)
    lower = score_token_attr(examples, "pos", getter=lambda t, a: t.pos_.lower())
    assert lower["pos_acc"] == pytest.approx(2 / 3)


def test_mistokenized_tokens_count_against_recall(vocab):
    # gold: New | York-based | firm ; predicted splits the middle token in three
    gold = Doc(vocab, words=["New", "York-based", "firm"], tags=["NNP", "JJ", "NN"])
    pred = Doc(vocab, words=["New", "York", "-", "based", "firm"],
               spaces=[True, False, False, True, True], tags=["NNP", "NNP", "HYPH", "VBN", "NN"])
    # two predicted tokens match gold tokens one-to-one, both right: P = 2/2, R = 2/3
    assert score_token_attr([Example(pred, gold)], "tag_")["tag__acc"] == pytest.approx(0.8)
    tok = score_tokenization([Example(pred, gold)])
    assert tok["token_acc"] == pytest.approx(1.0)  # every piece lies inside one gold token
    assert tok["token_p"] == pytest.approx(2 / 5)
    assert tok["token_r"] == pytest.approx(2 / 3)
    assert tok["token_f"] == pytest.approx(2 * 0.4 * (2 / 3) / (0.4 + 2 / 3))


def test_merged_tokens_lower_token_acc(vocab):
    gold = Doc(vocab, words=["do", "n't", "go"], spaces=[False, True, False])
    pred = Doc(vocab, words=["don't", "go"], spaces=[True, False])
    tok = score_tokenization([Example(pred, gold)])
    assert tok["token_acc"] == pytest.approx(0.5)
    assert (tok["token_p"], tok["token_r"]) == (pytest.approx(0.5), pytest.approx(1 / 3))


def test_whitespace_tokens_are_left_out(vocab):
    gold = Doc(vocab, words=["a", "b"], tags=["X", "Y"])
    pred = Doc(vocab, words=["a", "\n", "b"], spaces=[False, False, False],
               tags=["X", "_SP", "Y"])
    assert score_token_attr([Example(pred, gold)], "tag_")["tag__acc"] == 1.0
    assert score_tokenization([Example(pred, gold)])["token_f"] == 1.0


def test_deps_uas_las_and_per_label(vocab):
    words = ["She", "ate", "fish", "."]
    gold = Doc(vocab, words=words, heads=[1, 1, 1, 1], deps=["nsubj", "ROOT", "obj", "punct"])
    # fish gets the right head and wrong label; "." gets a wrong head
    pred = Doc(vocab, words=words, heads=[1, 1, 1, 2], deps=["nsubj", "ROOT", "iobj", "punct"])
    scores = score_deps([Example(pred, gold)])
    assert scores["dep_uas"] == pytest.approx(3 / 4)
    assert scores["dep_las"] == pytest.approx(2 / 4)
    per = scores["dep_las_per_type"]
    assert per["nsubj"] == {"p": 1.0, "r": 1.0, "f": 1.0}
    assert per["obj"]["r"] == 0.0 and per["iobj"]["p"] == 0.0
    no_punct = score_deps([Example(pred, gold)], ignore_labels=("punct",))
    assert no_punct["dep_uas"] == pytest.approx(1.0)
    assert no_punct["dep_las"] == pytest.approx(2 / 3)
    assert "punct" not in no_punct["dep_las_per_type"]


def test_deps_with_a_mistokenized_head(vocab):
    gold = Doc(vocab, words=["New-York", "rocks"], heads=[1, 1], deps=["nsubj", "ROOT"])
    pred = Doc(vocab, words=["New", "-", "York", "rocks"], spaces=[False, False, True, False],
               heads=[3, 0, 0, 3], deps=["nsubj", "punct", "flat", "ROOT"])
    scores = score_deps([Example(pred, gold)])
    # only "rocks" matches a gold token: P = 1/1, R = 1/2
    assert scores["dep_uas"] == pytest.approx(2 / 3)
    assert scores["dep_las"] == pytest.approx(2 / 3)


def test_deps_without_parse_is_none(vocab):
    doc = Doc(vocab, words=["a"])
    assert score_deps([Example(doc, doc.copy())])["dep_las"] is None


def test_entities_p_r_f_per_type(vocab):
    words = ["Ann", "Lee", "visited", "New", "York", "and", "IBM"]
    gold = Doc(vocab, words=words, ents=["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-ORG"])
    pred = Doc(vocab, words=words, ents=["B-PER", "I-PER", "O", "B-LOC", "O", "O", "B-LOC"])
    scores = score_spans([Example(pred, gold)], "ents")
    assert scores["ents_p"] == pytest.approx(1 / 3)
    assert scores["ents_r"] == pytest.approx(1 / 3)
    assert scores["ents_f"] == pytest.approx(1 / 3)
    per = scores["ents_per_type"]
    assert per["PER"] == {"p": 1.0, "r": 1.0, "f": 1.0}
    assert per["LOC"]["p"] == 0.0 and per["ORG"]["r"] == 0.0


def test_entities_over_unannotated_gold_tokens_are_ignored(vocab):
    words = ["Ann", "met", "Bob"]
    gold = Doc(vocab, words=words, ents=["B-PER", "O", ""])
    pred = Doc(vocab, words=words, ents=["B-PER", "O", "B-PER"])
    scores = score_spans([Example(pred, gold)], "ents")
    assert (scores["ents_p"], scores["ents_r"]) == (1.0, 1.0)


def test_entities_across_tokenizations(vocab):
    gold = Doc(vocab, words=["in", "New-York"], ents=["O", "B-LOC"])
    pred = Doc(vocab, words=["in", "New", "-", "York"], spaces=[True, False, False, False],
               ents=["O", "B-LOC", "I-LOC", "I-LOC"])
    assert score_spans([Example(pred, gold)], "ents")["ents_f"] == 1.0


def test_span_groups_through_a_getter(vocab):
    gold = Doc(vocab, words=["a", "b", "c"])
    gold.spans["sc"] = [gold[0:2]]
    pred = Doc(vocab, words=["a", "b", "c"])
    pred.spans["sc"] = [pred[0:2], pred[2:3]]
    scores = score_spans([Example(pred, gold)], "sc", labeled=False,
                         getter=lambda doc, key: doc.spans.get(key, []))
    assert (scores["sc_p"], scores["sc_r"]) == (0.5, 1.0)
    assert "sc_per_type" not in scores


def test_no_entity_annotation_is_none(vocab):
    doc = Doc(vocab, words=["a"])
    assert score_spans([Example(doc, doc.copy())], "ents")["ents_f"] is None


def test_sentence_boundaries(vocab):
    words = ["A", ".", "B", ".", "C", "."]
    gold = Doc(vocab, words=words, sent_starts=[True, False, True, False, True, False])
    pred = Doc(vocab, words=words, sent_starts=[True, False, False, False, True, False])
    scores = score_sents([Example(pred, gold)])
    # predicted sentences [0,4) and [4,6); gold [0,2), [2,4), [4,6)
    assert scores["sents_p"] == pytest.approx(0.5)
    assert scores["sents_r"] == pytest.approx(1 / 3)
    # a predicted doc without boundaries is one sentence
    unsplit = Doc(vocab, words=words)
    assert score_sents([Example(unsplit, gold)])["sents_p"] == 0.0
    assert score_sents([Example(unsplit, Doc(vocab, words=words))])["sents_f"] is None


def test_column_fast_path_agrees_with_the_getter_path():
    from pathlib import Path

    import nlp_core
    from nlp_core.training import Corpus

    nlp = nlp_core.blank("en")
    dev = Path(__file__).parents[1] / "fixtures" / "training" / "ewt-dev-20.conllu"
    examples = list(Corpus(dev)(nlp))
    for n, eg in enumerate(examples):
        gold = eg.get_aligned("TAG", as_string=True)
        # right where aligned, except every third token; "" leaves a token untagged
        tags = [("XX" if i % 3 == n % 3 else tag) if tag else "" for i, tag in enumerate(gold)]
        eg.predicted = Doc(nlp.vocab, words=eg.predicted.token_texts(),
                           spaces=eg.predicted.column("trailing_space").tolist(),
                           tags=[t or None for t in tags], pos=["NOUN"] * len(tags))
        eg._alignment = None
    for attr in ("tag", "tag_", "pos_"):
        fast = score_token_attr(examples, attr)
        slow = score_token_attr(examples, attr, getter=lambda token, name: getattr(token, name))
        assert fast == pytest.approx(slow)
    assert 0.5 < score_token_attr(examples, "tag_")["tag__acc"] < 0.8
