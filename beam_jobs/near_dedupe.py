"""Near-duplicate removal as a Beam composite transform: MinHash, LSH, verification,
distributed connected components, one kept document per cluster.

    removed = docs | "NearDedupe" >> NearDedupe(NearDedupeSettings(threshold=0.8))

`docs` holds `(doc_id, text)`: normalised text, unique ids, exact duplicates already removed.
`removed` holds one `(doc_id, kept_doc_id, estimated_jaccard)` per document to drop, the
estimate being the MinHash estimate of its Jaccard similarity to the kept document.

Steps (the pure functions are in `minhash.py`):

    Signatures       batches of documents -> one signature per document (32-bit values,
                     `num_perm` of them) and one (band, band hash) key per band
    CandidatePairs   GroupByKey on (band, band hash): each bucket's members pair up; a bucket
                     larger than `max_bucket_size` pairs each member (sorted by id) with its
                     next `bucket_window` members only (counted as capped)
    Verify           two joins with the signatures: a pair becomes an edge only when its
                     estimated Jaccard is >= threshold
    Components       alternating large-star / small-star rounds (Kiveris et al., "Connected
                     Components in MapReduce and Beyond", SoCC 2014): every round is two
                     GroupByKeys over the edges, on any number of workers
    Keep             each component ends as a star around its smallest member, which is kept;
                     the other members are removed

Nodes are ordered by their rank: `(0, doc_id)` for keep="first" (the lowest id is kept),
`(-len(text), doc_id)` for keep="longest" (the longest text, ties to the lowest id), so the
component minimum the star algorithm converges to is the document to keep.

The bound on rounds: the alternation provably converges in O(log^2 n) rounds for a component
of n nodes and in practice in about log2(n) + 2 (measured on paths, the worst case for label
propagation: 1,000 nodes in 9-11 rounds, 100,000 in 14-18). The pipeline graph is static, so
`max_rounds` rounds (default 20) are laid out, and a final check reads, through a side
input, how many nodes are not yet in a star; a run that did not converge fails with E563,
saying to raise `max_rounds`, instead of removing documents from unfinished clusters. Rounds
after convergence leave the stars unchanged, at the cost of two small GroupByKeys each.

Everything is a function of the input set: sorted members, set semantics and minima make the
output the same however the runner splits bundles.
"""
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from beam_jobs import minhash
from nlp_core.errors import Errors

NAMESPACE = "near_dedupe"
_KEEP = ("first", "longest")
# shingle hashes (8 bytes each) a signature batch holds before it is signed
_MAX_HELD_SHINGLES = 1 << 20

Rank = Tuple[int, str]


@dataclass(frozen=True)
class NearDedupeSettings:
    """How near duplicates are found and which member of a cluster stays.

    Args:
        num_perm: MinHash permutations (signature length), >= 2.
        ngram: words per shingle, >= 1.
        threshold: Jaccard similarity in (0, 1] above which documents are duplicates; it
            chooses bands x rows and is the verification cut.
        keep: "first" keeps the lowest id of a cluster, "longest" the longest text (ties to
            the lowest id).
        seed: selects the hash functions; runs with the same seed agree.
        bands, rows: LSH banding; None chooses them from the threshold
            (`minhash.lsh_parameters`). Give both or neither; bands * rows <= num_perm.
        max_bucket_size: buckets up to this size compare all pairs of members.
        bucket_window: in a larger bucket, each member (sorted by id) is compared with its
            next `bucket_window` members.
        max_rounds: large-star / small-star rounds laid out for the connected components.
        batch_size: documents per signature batch.
    """

    num_perm: int = 128
    ngram: int = 5
    threshold: float = 0.8
    keep: str = "first"
    seed: int = 1
    bands: Optional[int] = None
    rows: Optional[int] = None
    max_bucket_size: int = 100
    bucket_window: int = 10
    max_rounds: int = 20
    batch_size: int = 512

    def __post_init__(self):
        def bad(name, reason):
            raise ValueError(Errors.E560.format(name=name, value=getattr(self, name),
                                                reason=reason))

        for name, least in (("num_perm", 2), ("ngram", 1), ("max_bucket_size", 2),
                            ("bucket_window", 1), ("max_rounds", 1), ("batch_size", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                bad(name, f"an int >= {least}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            bad("seed", "an int")
        if not isinstance(self.threshold, (int, float)) or not 0.0 < self.threshold <= 1.0:
            bad("threshold", "a number in (0, 1]")
        if self.keep not in _KEEP:
            bad("keep", "\"first\" or \"longest\"")
        if (self.bands is None) != (self.rows is None):
            bad("bands" if self.bands is None else "rows",
                "given together with the other of bands and rows (or neither)")
        if self.bands is None:
            bands, rows = minhash.lsh_parameters(self.threshold, self.num_perm)
            object.__setattr__(self, "bands", bands)
            object.__setattr__(self, "rows", rows)
        for name in ("bands", "rows"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                bad(name, "an int >= 1")
        if self.bands * self.rows > self.num_perm:
            bad("bands", f"such that bands x rows ({self.bands} x {self.rows}) <= num_perm "
                f"({self.num_perm})")


def rank_of(doc_id: str, text: str, keep: str) -> Rank:
    """The order in which cluster members are preferred: the smallest rank is kept."""
    return (-len(text) if keep == "longest" else 0, doc_id)


def bucket_pairs(ids: Sequence[str], max_bucket_size: int,
                 bucket_window: int) -> Iterator[Tuple[str, str]]:
    """The candidate pairs of one LSH bucket, generated lazily (a huge bucket never holds
    its pairs in memory).

    Args:
        ids: the bucket's distinct members, sorted.

    Yields:
        (smaller id, larger id): all pairs when len(ids) <= max_bucket_size, otherwise each
        member with its next `bucket_window` members.
    """
    k = len(ids)
    window = k if k <= max_bucket_size else bucket_window
    for i in range(k):
        for j in range(i + 1, min(i + 1 + window, k)):
            yield ids[i], ids[j]


def capped_pairs(k: int, max_bucket_size: int, bucket_window: int) -> int:
    """How many of a bucket's k * (k - 1) / 2 pairs `bucket_pairs` leaves out."""
    if k <= max_bucket_size:
        return 0
    w = min(bucket_window, k - 1)
    kept = w * (k - w) + w * (w - 1) // 2
    return k * (k - 1) // 2 - kept


def large_star(node: Rank, neighbours: Iterable[Rank]) -> List[Tuple[Rank, Rank]]:
    """Large-star at one node: every larger neighbour is linked to the smallest node of the
    neighbourhood (the node itself included)."""
    seen = set(neighbours)
    smallest = min(seen | {node})
    return [(v, smallest) for v in sorted(seen) if v > node]


def small_star(node: Rank, smaller: Iterable[Rank]) -> List[Tuple[Rank, Rank]]:
    """Small-star at one node, given its neighbours smaller than itself: the node and those
    neighbours are linked to the smallest of them."""
    group = set(smaller) | {node}
    smallest = min(group)
    return [(v, smallest) for v in sorted(group) if v != smallest]


class _Signatures(beam.DoFn):
    """A batch of (doc_id, text) -> band keys (main output) and signatures ("sigs")."""

    def __init__(self, settings: NearDedupeSettings):
        self.settings = settings
        self.documents = Metrics.counter(NAMESPACE, "documents")
        self.no_words = Metrics.counter(NAMESPACE, "documents_without_words")

    def setup(self):
        self.a, self.b = minhash.permutations(self.settings.num_perm, self.settings.seed)

    def process(self, batch):
        ids, ranks, shingles = [], [], []
        held = 0
        for element in batch:
            doc_id, text = _checked_element(element)
            self.documents.inc()
            hashes = minhash.shingle_hashes(text, self.settings.ngram)
            if not len(hashes):
                self.no_words.inc()
                continue
            ids.append(doc_id)
            ranks.append(rank_of(doc_id, text, self.settings.keep))
            shingles.append(hashes)
            held += len(hashes)
            if held >= _MAX_HELD_SHINGLES:  # a batch of long documents: sign what we hold
                yield from self._signed(ids, ranks, shingles)
                ids, ranks, shingles = [], [], []
                held = 0
        if ids:
            yield from self._signed(ids, ranks, shingles)

    def _signed(self, ids, ranks, shingles):
        s = self.settings
        full = minhash.signatures(shingles, self.a, self.b)
        # as int64: Beam's integer coder takes signed 64-bit values
        bands = minhash.band_hashes(full, s.bands, s.rows).view(np.int64).tolist()
        small = minhash.truncate(full)
        for i, doc_id in enumerate(ids):
            yield beam.pvalue.TaggedOutput("sigs", (doc_id, (ranks[i], small[i].tobytes())))
            for band, value in enumerate(bands[i]):
                yield (band, value), doc_id


def _checked_element(element) -> Tuple[str, str]:
    if (not isinstance(element, tuple) or len(element) != 2
            or not isinstance(element[0], str) or not isinstance(element[1], str)):
        shown = repr(element)
        raise TypeError(Errors.E561.format(
            element=shown if len(shown) <= 80 else shown[:77] + "...",
            type=type(element).__name__))
    return element


class _BucketPairs(beam.DoFn):
    def __init__(self, settings: NearDedupeSettings):
        self.settings = settings
        self.capped_buckets = Metrics.counter(NAMESPACE, "capped_buckets")
        self.capped_pairs = Metrics.counter(NAMESPACE, "capped_pairs")

    def process(self, bucket):
        _key, members = bucket
        ids = sorted(set(members))
        s = self.settings
        left_out = capped_pairs(len(ids), s.max_bucket_size, s.bucket_window)
        if left_out:
            self.capped_buckets.inc()
            self.capped_pairs.inc(left_out)
        yield from bucket_pairs(ids, s.max_bucket_size, s.bucket_window)


def _single_signature(doc_id: str, sigs: list):
    """The one (rank, signature) of a document that is in a pair (so it has one)."""
    if len(sigs) > 1:
        raise ValueError(Errors.E562.format(doc_id=doc_id, n=len(sigs)))
    return sigs[0]


class _SendSignature(beam.DoFn):
    """Join 1, keyed by the pair's smaller id: its signature goes to the other member."""

    def __init__(self):
        self.candidates = Metrics.counter(NAMESPACE, "candidate_pairs")

    def process(self, joined):
        doc_id, groups = joined
        partners = set(groups["pairs"])
        if not partners:
            return
        rank, sig = _single_signature(doc_id, list(groups["sigs"]))
        self.candidates.inc(len(partners))
        for other in sorted(partners):
            yield other, (rank, sig)


class _VerifyPairs(beam.DoFn):
    """Join 2, keyed by the pair's larger id: estimated Jaccard >= threshold -> an edge,
    emitted both ways as (node, neighbour)."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.verified = Metrics.counter(NAMESPACE, "verified_pairs")

    def process(self, joined):
        doc_id, groups = joined
        incoming = list(groups["partners"])
        if not incoming:
            return
        rank, sig = _single_signature(doc_id, list(groups["sigs"]))
        mine = np.frombuffer(sig, dtype=np.uint32)
        for other_rank, other_sig in incoming:
            estimate = minhash.estimated_jaccard(mine, np.frombuffer(other_sig, np.uint32))
            if estimate >= self.threshold:
                self.verified.inc()
                yield other_rank, rank
                yield rank, other_rank


def _both_ways(edges: List[Tuple[Rank, Rank]]) -> List[Tuple[Rank, Rank]]:
    return [e for v, m in edges for e in ((v, m), (m, v))]


def _star_round(adjacency, label: str):
    """One large-star and one small-star step over (node, neighbour) elements (each edge
    both ways). Large-star's output edges (v, m) have v > m, so they are already keyed by
    the larger node, as small-star groups them."""
    return (adjacency
            | f"{label}/LargeGroup" >> beam.GroupByKey()
            | f"{label}/Large" >> beam.FlatMap(lambda g: large_star(g[0], g[1]))
            | f"{label}/SmallGroup" >> beam.GroupByKey()
            | f"{label}/Small" >> beam.FlatMap(lambda g: _both_ways(small_star(g[0], g[1]))))


class _StarCheck(beam.DoFn):
    """Per node of the final graph: a leaf of exactly one centre -> (leaf, centre); a centre
    -> cluster metrics; anything else (not converged) -> the "unsettled" output."""

    def __init__(self):
        self.clusters = Metrics.counter(NAMESPACE, "clusters")
        self.sizes = Metrics.distribution(NAMESPACE, "cluster_size")

    def process(self, grouped):
        node, neighbours = grouped
        neighbours = set(neighbours)
        centres = {v for v in neighbours if v < node}
        if len(centres) == 1 and len(neighbours) == 1:
            yield node, next(iter(centres))
        elif not centres:
            self.clusters.inc()
            self.sizes.update(len(neighbours) + 1)
        else:
            yield beam.pvalue.TaggedOutput("unsettled", node)


def _require_converged(leaf_centre, unsettled: int, max_rounds: int):
    if unsettled:
        raise RuntimeError(Errors.E563.format(n=unsettled, rounds=max_rounds))
    return leaf_centre


class _KeptSignature(beam.DoFn):
    """Join 3, keyed by the kept id: its signature goes to every removed member."""

    def process(self, joined):
        kept_id, groups = joined
        removed = sorted(set(groups["removed"]))
        if not removed:
            return
        _rank, sig = _single_signature(kept_id, list(groups["sigs"]))
        for doc_id in removed:
            yield doc_id, (kept_id, sig)


class _Removed(beam.DoFn):
    """Join 4, keyed by the removed id: (doc_id, kept_doc_id, estimated Jaccard)."""

    def __init__(self):
        self.removed = Metrics.counter(NAMESPACE, "removed")

    def process(self, joined):
        doc_id, groups = joined
        kept = list(groups["kept"])
        if not kept:
            return
        _rank, sig = _single_signature(doc_id, list(groups["sigs"]))
        kept_id, kept_sig = kept[0]
        self.removed.inc()
        estimate = minhash.estimated_jaccard(np.frombuffer(sig, np.uint32),
                                             np.frombuffer(kept_sig, np.uint32))
        yield doc_id, kept_id, estimate


class NearDedupe(beam.PTransform):
    """(doc_id, text) -> (doc_id, kept_doc_id, estimated_jaccard) for each near duplicate
    to remove. Metrics in the namespace "near_dedupe": documents, documents_without_words,
    candidate_pairs, verified_pairs, capped_buckets, capped_pairs, clusters, cluster_size
    (a distribution), removed."""

    def __init__(self, settings: Optional[NearDedupeSettings] = None):
        super().__init__()
        self.settings = settings or NearDedupeSettings()

    def expand(self, docs):
        s = self.settings
        signed = (docs
                  | "Batch" >> beam.BatchElements(min_batch_size=1,
                                                  max_batch_size=s.batch_size)
                  | "Signatures" >> beam.ParDo(_Signatures(s))
                  .with_output_types(Tuple[Tuple[int, int], str])
                  .with_outputs("sigs", main="bands"))
        sigs = signed.sigs
        pairs = (signed.bands
                 | "GroupBuckets" >> beam.GroupByKey()
                 | "CandidatePairs" >> beam.ParDo(_BucketPairs(s)))
        partners = ({"sigs": sigs, "pairs": pairs}
                    | "JoinFirst" >> beam.CoGroupByKey()
                    | "SendSignature" >> beam.ParDo(_SendSignature()))
        edges = ({"sigs": sigs, "partners": partners}
                 | "JoinSecond" >> beam.CoGroupByKey()
                 | "Verify" >> beam.ParDo(_VerifyPairs(s.threshold)))
        for round_ in range(s.max_rounds):
            edges = _star_round(edges, f"Round{round_}")
        checked = (edges
                   | "GroupFinal" >> beam.GroupByKey()
                   | "StarCheck" >> beam.ParDo(_StarCheck()).with_outputs("unsettled",
                                                                        main="leaves"))
        unsettled = (checked.unsettled
                     | "CountUnsettled" >> beam.combiners.Count.Globally())
        removed_by_kept = (checked.leaves
                           | "Converged" >> beam.Map(
                               _require_converged,
                               unsettled=beam.pvalue.AsSingleton(unsettled),
                               max_rounds=s.max_rounds)
                           | "ByKept" >> beam.Map(lambda lc: (lc[1][1], lc[0][1])))
        kept_sigs = ({"sigs": sigs, "removed": removed_by_kept}
                     | "JoinKept" >> beam.CoGroupByKey()
                     | "KeptSignature" >> beam.ParDo(_KeptSignature()))
        return ({"sigs": sigs, "kept": kept_sigs}
                | "JoinRemoved" >> beam.CoGroupByKey()
                | "Removed" >> beam.ParDo(_Removed()))
