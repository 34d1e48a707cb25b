"""A near-duplicate test corpus from EWT and UNER text, its exact ground truth, and scores.

Documents are 3-8 sentences (one per line) drawn at random from a pool of distinct
sentences: the `# text` lines of EWT train (../shared/data/ud_english_ewt) and of UNER dev
and test (../shared/data/uner_english_ewt; UNER annotates EWT dev/test, so the two sources do
not overlap). A sentence is reused by about four documents, so unrelated documents share
the odd sentence (hard negatives of true Jaccard 0.05-0.3). Some documents are one short
sentence. About a third carry a boilerplate line from a pool of 40.

Planted on top of the originals (default shares of the corpus): exact copies (5%) and near
duplicates (25%): a few words substituted, inserted or deleted and/or a boilerplate line
added or removed, made from an original or (15%) from an earlier near duplicate, which
forms chains. Ids are a random permutation, so the kept member of a cluster is not always
the original.

The ground truth is exact: each document's word 5-gram set (`minhash.shingle_set`, the same
shingling as NearDedupe), and the Jaccard similarity of every pair that shares a shingle,
from a sparse document-by-shingle product (scipy). Standard library, numpy and scipy only.
"""
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import scipy.sparse as sp

from beam_jobs.minhash import shingle_set

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SOURCES = (("ud_english_ewt", "en_ewt-ud-train.conllu"),
           ("uner_english_ewt", "en_ewt-ud-dev.iob2"),
           ("uner_english_ewt", "en_ewt-ud-test.iob2"))
BOILERPLATE_FORMS = (
    "Posted by {name} on {month} {day} , 2009 | {n} comments",
    "Click here to subscribe to the {name} newsletter for {month} .",
    "Copyright {n} {name} Ltd. All rights reserved . Terms of use | Privacy",
    "Share this page : Facebook | Twitter | Email to a friend ( {n} shares )",
)
BANDS = ((0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.75), (0.75, 0.8), (0.8, 0.85),
         (0.85, 0.9), (0.9, 0.95), (0.95, 1.0), (1.0, 1.01))


@dataclass
class Corpus:
    """The documents and what is known about them.

    docs: (doc_id, text) in a fixed order; planted: (copy_id, source_id, kind) with kind
    "exact" or "near"; pairs: {(id_a, id_b): true Jaccard} for every pair (id_a < id_b)
    with Jaccard >= 0.5; best: each document's highest Jaccard to any other document.
    """

    docs: List[Tuple[str, str]]
    planted: List[Tuple[str, str, str]]
    pairs: Dict[Tuple[str, str], float] = field(default_factory=dict)
    best: Dict[str, float] = field(default_factory=dict)


def read_sentences(data_dir: Path = SHARED_DATA) -> List[str]:
    """The distinct `# text` sentences of EWT train and UNER dev/test, in file order."""
    seen, out = set(), []
    for folder, name in SOURCES:
        path = data_dir / folder / name
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: the dedupe corpus needs "
                                    f"../shared/data beside the repository")
        with open(path, encoding="utf8") as f:
            for line in f:
                if line.startswith("# text = "):
                    text = " ".join(line[len("# text = "):].split())
                    if text and text.lower() not in seen:
                        seen.add(text.lower())
                        out.append(text)
    return out


def _boilerplate(rng: random.Random) -> List[str]:
    names = ["Acme", "Riverside", "Bluebird", "Northwind", "Contoso", "Globex", "Initech",
             "Umbrella", "Hooli", "Vandelay"]
    months = ["March", "April", "May", "June"]
    lines = []
    for form in BOILERPLATE_FORMS:
        for name in names:
            lines.append(form.format(name=name, month=rng.choice(months),
                                     day=rng.randint(1, 28), n=rng.randint(2, 99)))
    return lines


def _edit(lines: List[str], rng: random.Random, vocab: Sequence[str],
          boilerplate: Sequence[str]) -> List[str]:
    """A near duplicate: some word edits and/or a boilerplate line added or removed."""
    lines = [line.split() for line in lines]
    n_edits = rng.choice([0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 14])
    if n_edits == 0 or rng.random() < 0.3:
        plate_at = [i for i, line in enumerate(lines) if " ".join(line) in boilerplate]
        if plate_at and len(lines) > 1:
            del lines[rng.choice(plate_at)]
        else:
            lines.insert(rng.choice([0, len(lines)]), rng.choice(boilerplate).split())
    for _ in range(n_edits):
        line = rng.choice([line for line in lines if line] or lines)
        op = rng.choice(("substitute", "insert", "delete"))
        at = rng.randrange(len(line) + (op == "insert")) if line else 0
        if op == "substitute" and line:
            line[at] = rng.choice(vocab)
        elif op == "delete" and len(line) > 1:
            del line[at]
        else:
            line.insert(at, rng.choice(vocab))
    return [" ".join(line) for line in lines if line]


def build(n_docs: int = 20000, seed: int = 0, exact_share: float = 0.05,
          near_share: float = 0.25, data_dir: Path = SHARED_DATA,
          truth: bool = True) -> Corpus:
    """The corpus of `n_docs` documents with its ground truth (see the module docstring);
    truth=False leaves `pairs` and `best` empty (for timing runs)."""
    rng = random.Random(seed)
    sentences = read_sentences(data_dir)
    vocab = sorted({w for s in sentences[:3000] for w in s.split() if w.isalpha()})
    boilerplate = _boilerplate(rng)
    n_exact = int(n_docs * exact_share)
    n_near = int(n_docs * near_share)
    n_orig = n_docs - n_exact - n_near
    order = list(range(len(sentences)))
    rng.shuffle(order)
    cursor = 0
    bodies: List[List[str]] = []
    for _ in range(n_orig):
        k = 1 if rng.random() < 0.05 else rng.randint(3, 8)
        picked = []
        for _ in range(k):
            if cursor == len(order):
                rng.shuffle(order)
                cursor = 0
            picked.append(sentences[order[cursor]])
            cursor += 1
        if k > 1 and rng.random() < 0.33:
            picked.insert(rng.choice([0, len(picked)]), rng.choice(boilerplate))
        bodies.append(picked)
    origin: List[Tuple[int, str]] = []  # (source index, kind) for each planted body
    for _ in range(n_near):
        if origin and rng.random() < 0.15:
            src = n_orig + rng.randrange(len(origin))
        else:
            src = rng.randrange(n_orig)
        origin.append((src, "near"))
        bodies.append(_edit(bodies[src], rng, vocab, boilerplate))
    for _ in range(n_exact):
        src = rng.randrange(len(bodies))
        origin.append((src, "exact"))
        bodies.append(list(bodies[src]))
    ids = [f"d{i:06d}" for i in rng.sample(range(n_docs * 10), n_docs)]
    docs = [(ids[i], "\n".join(body)) for i, body in enumerate(bodies)]
    planted = [(ids[n_orig + j], ids[src], kind) for j, (src, kind) in enumerate(origin)]
    corpus = Corpus(docs=docs, planted=planted)
    if truth:
        corpus.pairs, corpus.best = true_pairs(docs)
    return corpus


def true_pairs(docs: Sequence[Tuple[str, str]], ngram: int = 5,
               floor: float = 0.5) -> Tuple[Dict[Tuple[str, str], float], Dict[str, float]]:
    """Exact Jaccard of every pair with Jaccard >= floor, and each document's best Jaccard."""
    index: Dict[tuple, int] = {}
    rows, cols = [], []
    sizes = np.zeros(len(docs), dtype=np.int64)
    for i, (_doc_id, text) in enumerate(docs):
        shingles = shingle_set(text, ngram)
        sizes[i] = len(shingles)
        for s in shingles:
            rows.append(i)
            cols.append(index.setdefault(s, len(index)))
    x = sp.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                      shape=(len(docs), len(index)))
    inter = sp.triu(x @ x.T, k=1).tocoo()
    union = sizes[inter.row] + sizes[inter.col] - inter.data
    jaccard = inter.data / np.maximum(union, 1)
    best = np.zeros(len(docs))
    np.maximum.at(best, inter.row, jaccard)
    np.maximum.at(best, inter.col, jaccard)
    ids = [doc_id for doc_id, _ in docs]
    pairs = {}
    for r, c, j in zip(inter.row, inter.col, jaccard):
        if j >= floor:
            a, b = sorted((ids[r], ids[c]))
            pairs[(a, b)] = float(j)
    return pairs, {ids[i]: float(best[i]) for i in range(len(docs))}


def jaccard(text_a: str, text_b: str, ngram: int = 5) -> float:
    a, b = shingle_set(text_a, ngram), shingle_set(text_b, ngram)
    return len(a & b) / len(a | b) if a | b else 1.0


def band_of(value: float) -> str:
    for lo, hi in BANDS:
        if lo <= value < hi:
            return "1.0" if lo == 1.0 else f"[{lo:.2f}, {hi:.2f})"
    raise ValueError(value)


def score(corpus: Corpus, removed: Sequence[Tuple[str, str, float]],
          threshold: float = 0.8) -> dict:
    """Recall and precision of a removal list against the ground truth.

    A true pair is found when both documents end in the same cluster (the kept id of a
    removed document, a document's own id otherwise). A removal is precise when its true
    Jaccard to the document kept in its place is >= threshold; `removed_with_true_dup` counts
    removals whose document has a true Jaccard >= threshold to some other document.
    """
    texts = dict(corpus.docs)
    cluster = {doc_id: doc_id for doc_id in texts}
    for doc_id, kept, _estimate in removed:
        cluster[doc_id] = kept
    per_band: Dict[str, Counter] = {band_of(lo): Counter() for lo, _ in BANDS}
    for (a, b), j in corpus.pairs.items():
        row = per_band[band_of(j)]
        row["true_pairs"] += 1
        row["found"] += cluster[a] == cluster[b]
    errors = []
    for doc_id, kept, estimate in removed:
        j = jaccard(texts[doc_id], texts[kept])
        per_band[band_of(j)]["removed"] += 1
        errors.append(abs(estimate - j))
    high = [(a, b) for (a, b), j in corpus.pairs.items() if j >= 0.85]
    exact = [(a, b) for (a, b), j in corpus.pairs.items() if texts[a] == texts[b]]
    no_dup = [d for d, best in corpus.best.items() if best < 0.5]
    removed_ids = {doc_id for doc_id, _, _ in removed}
    precise = sum(per_band[band_of(lo)]["removed"] for lo, _ in BANDS if lo >= threshold)
    return {
        "documents": len(texts),
        "removed": len(removed),
        "recall_jaccard_0.85": sum(cluster[a] == cluster[b] for a, b in high) / max(len(high), 1),
        "pairs_jaccard_0.85": len(high),
        "recall_exact": sum(cluster[a] == cluster[b] for a, b in exact) / max(len(exact), 1),
        "exact_pairs": len(exact),
        "precision": precise / max(len(removed), 1),
        "removed_with_true_dup": sum(corpus.best[d] >= threshold for d in removed_ids)
        / max(len(removed_ids), 1),
        "no_dup_docs": len(no_dup),
        "no_dup_removed_share": sum(d in removed_ids for d in no_dup) / max(len(no_dup), 1),
        "mean_abs_estimate_error": float(np.mean(errors)) if errors else 0.0,
        "bands": {band: dict(row) for band, row in per_band.items()},
    }
