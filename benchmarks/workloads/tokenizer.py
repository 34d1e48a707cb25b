"""Tokenizer words/s on UD English EWT test text, one call per sentence, cache warm, plus
token precision/recall/F1 against the gold tokens (multiword tokens scored as words and as
surface forms; see nlp_core/tokenizer/score.py)."""
from common import EWT, best_time, conllu_texts, load_module

TEST = EWT / "en_ewt-ud-test.conllu"


def _measure(tokenizer, options) -> dict:
    texts = conllu_texts(TEST)
    n_words = sum(len(tokenizer(text)) for text in texts)

    def run():
        for text in texts:
            tokenizer(text)

    seconds = best_time(run, options.passes)
    score = load_module("nlp_core/tokenizer/score.py", "token_score")
    f1_words = score.score_tokenizer(tokenizer, str(TEST), "words")
    f1_surface = score.score_tokenizer(tokenizer, str(TEST), "surface")
    return {
        "metric": "words/s", "value": n_words / seconds, "higher_is_better": True,
        "details": {"texts": len(texts), "words": n_words, "best_seconds": round(seconds, 5),
                    "f1_words": round(f1_words["f1"], 4),
                    "precision_words": round(f1_words["precision"], 4),
                    "recall_words": round(f1_words["recall"], 4),
                    "f1_surface": round(f1_surface["f1"], 4)},
    }


def ours(options) -> dict:
    from nlp_core.lang import get_lang_defaults
    from nlp_core.tokenizer import create_tokenizer
    from nlp_core.vocab import Vocab

    defaults = get_lang_defaults("en")
    vocab = Vocab(lex_attr_getters=defaults.lex_attr_getters, lang="en")
    return _measure(create_tokenizer(vocab, defaults), options)


def spacy(options) -> dict:
    import spacy as spacy_lib

    result = _measure(spacy_lib.blank("en").tokenizer, options)
    result["details"]["spacy_version"] = spacy_lib.__version__
    return result
