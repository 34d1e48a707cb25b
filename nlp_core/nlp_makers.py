"""The registered makers of the `[nlp]` config block: the default tokenizer
(`[nlp.tokenizer]`) and the vocab's vectors table (`[nlp.vectors]`).

    [nlp.tokenizer]
    @tokenizers = "nlp_core.Tokenizer.v1"     # spaCy's name "spacy.Tokenizer.v1" also works
"""
from typing import TYPE_CHECKING, Any, Callable

from .registry import registry
from .tokenizer import create_tokenizer
from .tokens import Doc
from .vocab import Vocab

if TYPE_CHECKING:
    from .language import Language


@registry.tokenizers("nlp_core.Tokenizer.v1", aliases=["spacy.Tokenizer.v1"])
def make_default_tokenizer() -> Callable[["Language"], Callable[[str], Doc]]:
    """The rule-based tokenizer of the pipeline's language (`[nlp.tokenizer]`).

    Returns:
        `create(nlp) -> tokenizer`, building the tokenizer from `nlp.defaults`.
    """

    def create(nlp: "Language") -> Callable[[str], Doc]:
        return create_tokenizer(nlp.vocab, nlp.defaults)

    return create


@registry.vectors("nlp_core.Vectors.v1", aliases=["spacy.Vectors.v1"])
def make_default_vectors() -> Callable[[Vocab], Any]:
    """The vocab's static vectors table (`[nlp.vectors]`): empty until loaded from disk or
    from `[initialize] vectors`.

    Returns:
        `create(vocab) -> vectors`.
    """

    def create(vocab: Vocab) -> Any:
        return vocab.vectors

    return create
