"""Token precision / recall / F1 against CoNLL-U gold, aligned by character offsets.

Gold tokens come from the word forms of each sentence, located in order in its `# text`
line. A predicted token is correct when its (start, end) character span equals a gold
token's span; whitespace-only predicted tokens are not counted (gold has none).

Multiword tokens (`1-2` range lines, e.g. "don't" = "do" + "n't") can be scored two ways:
`multiword="words"` uses the syntactic words as gold tokens (the tokens a tagger and parser
trained on the treebank expect; in UD English EWT every range's words concatenate to its
surface form, so they are substrings of the text), and `multiword="surface"` uses the
range's surface form as one gold token.

This module uses only the standard library, so the spaCy side of the benchmark can load it
by file path.
"""
from typing import Callable, Dict, Iterable, Iterator, List, Tuple

Span = Tuple[int, int]
MULTIWORD_MODES = ("words", "surface")


def read_gold(path: str, multiword: str = "words") -> Iterator[Tuple[str, List[Span]]]:
    """Yield (text, gold token spans) for every sentence of a CoNLL-U file.

    Args:
        path: a CoNLL-U file whose sentences have `# text = ` comments.
        multiword: "words" or "surface" (see the module docstring).

    Returns:
        An iterator of (text, spans); spans are (start, end) character offsets into text.
    """
    if multiword not in MULTIWORD_MODES:
        raise ValueError(f"multiword must be one of {MULTIWORD_MODES}, got {multiword!r}")
    text = None
    forms: List[str] = []
    range_end = 0
    with open(path, encoding="utf8") as file_:
        for line_no, line in enumerate(file_, 1):
            line = line.rstrip("\n")
            if line.startswith("# text = "):
                text = line[len("# text = "):]
                forms = []
                range_end = 0
            elif line and line[0].isdigit():
                cols = line.split("\t", 2)
                token_id = cols[0]
                if "-" in token_id:
                    range_end = int(token_id.split("-")[1])
                    if multiword == "surface":
                        forms.append(cols[1])
                elif "." in token_id:
                    continue  # empty nodes have no surface text
                elif int(token_id) > range_end or multiword == "words":
                    forms.append(cols[1])
            elif not line and text is not None:
                yield text, _locate(text, forms, path, line_no)
                text = None
    if text is not None:
        yield text, _locate(text, forms, path, line_no)


def _locate(text: str, forms: List[str], path: str, line_no: int) -> List[Span]:
    spans = []
    pos = 0
    for form in forms:
        start = text.find(form, pos)
        if start < 0 or text[pos:start].strip():
            raise ValueError(f"{path}:{line_no}: gold form {form!r} is not at offset {pos} of "
                             f"the sentence text {text!r}; the CoNLL-U file is inconsistent.")
        spans.append((start, start + len(form)))
        pos = start + len(form)
    return spans


def token_spans(doc) -> List[Span]:
    """(start, end) of every non-whitespace token of a Doc (ours or spaCy's)."""
    return [(t.idx, t.idx + len(t.text)) for t in doc if not t.text.isspace()]


def prf(n_correct: int, n_pred: int, n_gold: int) -> Dict[str, float]:
    precision = n_correct / n_pred if n_pred else 0.0
    recall = n_correct / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "correct": n_correct,
            "predicted": n_pred, "gold": n_gold}


def score_spans(pairs: Iterable[Tuple[List[Span], List[Span]]]) -> Dict[str, float]:
    """Score (predicted spans, gold spans) pairs, one pair per sentence."""
    n_correct = n_pred = n_gold = 0
    for pred, gold in pairs:
        n_correct += len(set(pred) & set(gold))
        n_pred += len(pred)
        n_gold += len(gold)
    return prf(n_correct, n_pred, n_gold)


def score_tokenizer(tokenize: Callable[[str], object], path: str,
                    multiword: str = "words") -> Dict[str, float]:
    """Tokenize every `# text` line of a CoNLL-U file and score it against the gold tokens.

    Args:
        tokenize: text -> Doc (ours or spaCy's; tokens need `.idx` and `.text`).
        path: CoNLL-U file.
        multiword: "words" or "surface" (see the module docstring).

    Returns:
        {"precision", "recall", "f1", "correct", "predicted", "gold"}.
    """
    return score_spans((token_spans(tokenize(text)), gold)
                       for text, gold in read_gold(path, multiword))


def errors(tokenize: Callable[[str], object], path: str,
           multiword: str = "words") -> Iterator[Tuple[str, List[str], List[str]]]:
    """Yield (text, predicted tokens, gold tokens) of every sentence tokenized wrongly."""
    for text, gold in read_gold(path, multiword):
        pred = token_spans(tokenize(text))
        if pred != gold:
            yield text, [text[s:e] for s, e in pred], [text[s:e] for s, e in gold]
