"""Language data: lexical attribute functions shared by all languages, and one package per language.

`get_lang_defaults(code)` returns a language's defaults class (tokenizer rules, special
cases, lexical attribute getters, stop words); `nlp_core.tokenizer.create_tokenizer(vocab,
defaults)` turns it into a tokenizer.
"""
import importlib

from ..errors import Errors, nearest

# language code -> (module, defaults class name); modules load on first use.
LANGUAGES = {
    "en": ("nlp_core.lang.en", "EnglishDefaults"),
    "xx": ("nlp_core.lang.xx", "MultiLanguageDefaults"),
}


def get_lang_defaults(lang: str):
    """The defaults class of language `lang` ("en", or "xx" for language-independent rules).

    Raises:
        ValueError: for a language code without data here.
    """
    if lang not in LANGUAGES:
        raise ValueError(Errors.E100.format(lang=lang, known=nearest(str(lang), LANGUAGES)))
    module_name, class_name = LANGUAGES[lang]
    return getattr(importlib.import_module(module_name), class_name)


__all__ = ["get_lang_defaults", "LANGUAGES"]
