"""Morphological features of one token, stored as the hash of a normalised FEATS string."""
from typing import Dict, Iterator, List, Union

EMPTY = ""
# An analysis that is set but has no features is stored as the "_" symbol (as spaCy does),
# so it differs from "not annotated" (0).
EMPTY_MORPH_ID = 456


def normalize_features(features: Union[str, Dict[str, str], None]) -> str:
    """Canonical FEATS string: "Feat=Val|Feat=Val" sorted by feature name; "" for none.

    Accepts a UD FEATS string ("_" means none) or a dict. Multiple values of one feature are
    joined by commas ("PronType=Int,Rel").
    """
    if features is None:
        return EMPTY
    if isinstance(features, dict):
        pairs = [(str(k), str(v)) for k, v in features.items() if v not in ("", None)]
    else:
        text = features.strip()
        if text in ("", "_"):
            return EMPTY
        pairs = []
        for feature in text.split("|"):
            if not feature:
                continue
            field, sep, value = feature.partition("=")
            if not sep:
                raise ValueError(
                    f"Invalid morphological feature {feature!r} in {features!r}: expected "
                    "'Feature=Value' pairs separated by '|', e.g. 'Number=Sing|Person=3'.")
            pairs.append((field, value))
    return "|".join(f"{field}={value}" for field, value in sorted(pairs))


def morph_key(vocab, features: Union[str, Dict[str, str], None]) -> int:
    """The ID stored in a Doc's `morph` column for these features."""
    text = normalize_features(features)
    return vocab.strings.add(text) if text else EMPTY_MORPH_ID


class MorphAnalysis:
    """Read-only view of a token's features: `str(token.morph)`, `token.morph.get("Number")`."""

    __slots__ = ("vocab", "key", "_text")

    def __init__(self, vocab, key: int):
        self.vocab = vocab
        self.key = int(key)
        self._text = vocab.strings[self.key] if self.key not in (0, EMPTY_MORPH_ID) else EMPTY

    def to_dict(self) -> Dict[str, str]:
        if not self._text:
            return {}
        return dict(feature.split("=", 1) for feature in self._text.split("|"))

    def get(self, field: str, default=None) -> List[str]:
        value = self.to_dict().get(field)
        if value is None:
            return [] if default is None else default
        return value.split(",")

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return self._text

    def __len__(self) -> int:
        return len(self.to_dict())

    def __iter__(self) -> Iterator[str]:
        for field, values in self.to_dict().items():
            for value in values.split(","):
                yield f"{field}={value}"

    def __contains__(self, feature: str) -> bool:
        return feature in set(self)

    def __eq__(self, other) -> bool:
        if isinstance(other, MorphAnalysis):
            return self.key == other.key
        if isinstance(other, str):
            return self._text == normalize_features(other)
        return NotImplemented

    def __hash__(self) -> int:
        return self.key
