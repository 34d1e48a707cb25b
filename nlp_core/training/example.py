"""Example: a predicted Doc (what the pipeline sees and annotates) paired with a reference
Doc (gold annotation), with their token alignment."""
from typing import Any, Dict, List, Optional, Union

import numpy

from .. import attrs as A
from ..formats.ner_tags import tags_to_spans
from ..tokens import Doc
from .alignment import Alignment

# annotation keys of Example.from_dict -> Doc constructor keywords
_DOC_KEYS = {"tags": "tags", "pos": "pos", "morphs": "morphs", "lemmas": "lemmas",
             "heads": "heads", "deps": "deps", "sent_starts": "sent_starts"}
_STRING_FIELDS = {"TAG": "tag", "DEP": "dep", "LEMMA": "lemma", "ENT_TYPE": "ent_type",
                  "POS": "pos", "MORPH": "morph", "ORTH": "orth"}


class Example:
    """A training or evaluation instance.

    Args:
        predicted: the Doc the pipeline annotates (usually built by its tokenizer from the
            reference text, or a copy of the gold tokens with `--gold-preproc`).
        reference: the gold Doc.
    """

    def __init__(self, predicted: Doc, reference: Doc):
        if not isinstance(predicted, Doc) or not isinstance(reference, Doc):
            raise TypeError("Example needs two Docs (predicted, reference), got "
                            f"{type(predicted).__name__} and {type(reference).__name__}.")
        self.predicted = predicted
        self.reference = reference
        self._alignment: Optional[Alignment] = None

    x = property(lambda self: self.predicted)
    y = property(lambda self: self.reference)

    @property
    def text(self) -> str:
        return self.reference.text

    @property
    def alignment(self) -> Alignment:
        if self._alignment is None:
            self._alignment = Alignment.from_docs(self.predicted, self.reference)
        return self._alignment

    @classmethod
    def from_dict(cls, predicted: Doc, annotations: Dict[str, Any]) -> "Example":
        """Build the reference from annotations over the predicted doc's words (or the
        `words`/`spaces` given): tags, pos, morphs, lemmas, heads (absolute), deps,
        sent_starts, entities (IOB/BILUO strings or (start_char, end_char, label) triples),
        spans ({key: [(start_char, end_char, label)]}) and cats."""
        words = annotations.get("words") or predicted.token_texts()
        spaces = annotations.get("spaces")
        if spaces is None:
            spaces = predicted.column("trailing_space").tolist() \
                if "words" not in annotations else None
        kwargs = {key: annotations[name] for name, key in _DOC_KEYS.items()
                  if name in annotations}
        reference = Doc(predicted.vocab, words=words, spaces=spaces, **kwargs)
        entities = annotations.get("entities")
        if entities:
            if isinstance(entities[0], str):
                reference.ents = tags_to_spans(list(entities))
            else:
                spans = []
                for start, end, label in entities:
                    span = reference.char_span(start, end, label=label)
                    if span is None:
                        raise ValueError(
                            f"Entity ({start}, {end}, {label!r}) does not match token "
                            f"boundaries in {reference.text[:60]!r}: give character offsets "
                            "that start and end on tokens.")
                    spans.append(span)
                reference.ents = spans
        for key, triples in annotations.get("spans", {}).items():
            reference.spans[key] = [reference.char_span(s, e, label=lab, alignment_mode="expand")
                                    for s, e, lab in triples]
        reference.cats = dict(annotations.get("cats", {}))
        return cls(predicted, reference)

    def get_aligned(self, field: Union[str, int], as_string: bool = False) -> List[Any]:
        """Gold values of `field` (e.g. "TAG", "POS") for each predicted token; None where the
        predicted token is not aligned to exactly one gold token."""
        attr_id = A.intify_attr(field)
        gold = self.reference.to_array([attr_id])[:, 0]
        if attr_id == A.HEAD:
            gold = gold.view("int64") + range(len(self.reference))
        x2y = self.alignment.x2y
        single = x2y.lengths == 1
        # for tokens aligned to exactly one gold token, that token's index
        gold_index = x2y.data[x2y.starts[single]]
        values = gold[gold_index].tolist()
        if as_string and attr_id not in (A.HEAD, A.SENT_START, A.ENT_IOB, A.SPACY):
            strings = self.reference.vocab.strings
            values = [strings[v] if v else "" for v in values]
        output: List[Any] = [None] * len(self.predicted)
        for i, value in zip(numpy.nonzero(single)[0].tolist(), values):
            output[i] = value
        return output

    def copy(self) -> "Example":
        return Example(self.predicted.copy(), self.reference.copy())

    def __repr__(self) -> str:
        return f"Example(text={self.text[:40]!r}, tokens={len(self.predicted)}/{len(self.reference)})"
