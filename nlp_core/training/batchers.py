"""Batchers: split a stream of Examples (or Docs) into training batches.

    [training.batcher]
    @batchers = "nlp_core.batch_by_words.v1"     # also "spacy.batch_by_words.v1"
    discard_oversize = false
    tolerance = 0.2

    [training.batcher.size]
    @schedules = "compounding.v1"
    start = 100
    stop = 1000
    compound = 1.001

A registered batcher returns `batch(items) -> Iterator[List[item]]`. A size given as a
schedule advances by one step per batch over the batcher's whole life: it does not restart
with each pass over the data (each epoch), so `compounding.v1` sizes keep growing across
epochs, as in spaCy 3. A list of sizes restarts with each call.
"""
import itertools
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, TypeVar, Union

from thinc.api import Schedule

from ..errors import Errors
from ..registry import registry

ItemT = TypeVar("ItemT")
Sizing = Union[int, Schedule, Sequence[int]]
Batcher = Callable[[Iterable[ItemT]], Iterator[List[ItemT]]]


def item_length(item: Any) -> int:
    """Tokens of an Example's predicted Doc, or `len(item)` for anything else."""
    predicted = getattr(item, "predicted", None)
    return len(predicted) if predicted is not None else len(item)


def _sizes(size: Union[Sizing, Iterator[float]]) -> Iterator[float]:
    """The target size of batch 0, 1, 2, ... of one call (an iterator passes through)."""
    if isinstance(size, Iterator):
        return size
    if isinstance(size, bool) or (isinstance(size, (int, float)) and size <= 0):
        raise ValueError(Errors.E406.format(size=size))
    if isinstance(size, (int, float)):
        return itertools.repeat(size)
    if isinstance(size, Schedule) or callable(size):
        return (size(step) for step in itertools.count())
    if isinstance(size, Sequence) and not isinstance(size, str) and size and \
            all(isinstance(s, (int, float)) and s > 0 for s in size):
        return itertools.chain(size, itertools.repeat(size[-1]))
    raise ValueError(Errors.E406.format(size=size))


def minibatch_by_words(items: Iterable[ItemT], size: Union[Sizing, Iterator[float]], *, tolerance: float = 0.2,
                       discard_oversize: bool = False,
                       get_length: Optional[Callable[[ItemT], int]] = None
                       ) -> Iterator[List[ItemT]]:
    """Batches of about `size` words, in input order.

    A batch is filled up to its target size; items that no longer fit but stay within
    `target * (1 + tolerance)` are held back and start the next batch, so batches end
    near the target without reordering the stream much. An item longer than
    `target * (1 + tolerance)` on its own forms a batch of one (or is dropped with
    `discard_oversize`).

    Args:
        items: Examples, Docs or anything `get_length` measures.
        size: words per batch: an int, a schedule / sequence giving batch i its size, or
            an iterator of sizes (consumed one per batch).
        tolerance: the share of the target a batch may exceed.
        discard_oversize: drop items longer than the target plus tolerance.
        get_length: words of an item (default: tokens of the predicted Doc, or len()).
    """
    get_length = get_length or item_length
    sizes = _sizes(size)
    target = next(sizes)
    batch: List[ItemT] = []
    batch_words = 0
    held: List[ItemT] = []
    held_words = 0
    for item in items:
        n_words = get_length(item)
        while True:
            limit = target * (1 + tolerance)
            if n_words > limit:
                if not discard_oversize:
                    yield [item]
                break
            if not held and batch_words + n_words <= target:
                batch.append(item)
                batch_words += n_words
                break
            if batch_words + held_words + n_words <= limit:
                held.append(item)
                held_words += n_words
                break
            # the batch is full: emit it, start the next one with what was held back and
            # place the item again (this ends: at worst the next batch is empty)
            if batch:
                yield batch
            target = next(sizes)
            batch, batch_words = held, held_words
            held, held_words = [], 0
    batch.extend(held)
    if batch:
        yield batch


def minibatch_by_padded_size(items: Iterable[ItemT], size: Union[Sizing, Iterator[float]], *, buffer: int = 256,
                             discard_oversize: bool = False,
                             get_length: Optional[Callable[[ItemT], int]] = None
                             ) -> Iterator[List[ItemT]]:
    """Batches whose padded size (items x longest item) stays within `size`.

    Items are read `buffer` at a time; within a buffer they are sorted by length so that
    each batch holds items of similar length (little padding). A single item longer than
    the target forms its own batch, or is dropped with `discard_oversize`.
    """
    get_length = get_length or item_length
    sizes = _sizes(size)
    iterator = iter(items)
    while True:
        chunk = list(itertools.islice(iterator, buffer))
        if not chunk:
            return
        target = next(sizes)
        order = sorted(range(len(chunk)), key=lambda i: get_length(chunk[i]))
        batch: List[int] = []
        longest = 0
        for i in order:
            n_words = get_length(chunk[i])
            if batch and max(longest, n_words) * (len(batch) + 1) > target:
                yield [chunk[j] for j in sorted(batch)]
                batch, longest = [], 0
            if n_words > target:
                if not discard_oversize:
                    yield [chunk[i]]
                continue
            batch.append(i)
            longest = max(longest, n_words)
        if batch:
            yield [chunk[j] for j in sorted(batch)]


def minibatch(items: Iterable[ItemT], size: Union[Sizing, Iterator[float]]
              ) -> Iterator[List[ItemT]]:
    """Batches of `size` items (the last may be smaller)."""
    sizes = _sizes(size)
    iterator = iter(items)
    while True:
        batch = list(itertools.islice(iterator, int(next(sizes))))
        if not batch:
            return
        yield batch


def _lifelong(size: Sizing) -> Callable[[], Union[Sizing, Iterator[float]]]:
    """What each call of a batcher gets as its size: a schedule becomes one iterator over
    its steps, shared by every call; an int or a list is given anew to each call."""
    if isinstance(size, Schedule) or (callable(size) and not isinstance(size, (int, float))):
        steps = _sizes(size)
        return lambda: steps
    _sizes(size)  # fail at config resolution, not at the first batch
    return lambda: size


@registry.batchers("nlp_core.batch_by_words.v1", aliases=["spacy.batch_by_words.v1"])
def configure_batch_by_words(size: Sizing, tolerance: float = 0.2,
                             discard_oversize: bool = False,
                             get_length: Optional[Callable[[Any], int]] = None) -> Batcher:
    """Batches of about `size` words (see `minibatch_by_words`)."""
    sizes = _lifelong(size)

    def batch(items: Iterable[Any]) -> Iterator[List[Any]]:
        return minibatch_by_words(items, sizes(), tolerance=tolerance,
                                  discard_oversize=discard_oversize, get_length=get_length)

    return batch


@registry.batchers("nlp_core.batch_by_padded.v1", aliases=["spacy.batch_by_padded.v1"])
def configure_batch_by_padded(size: Sizing, buffer: int = 256, discard_oversize: bool = False,
                              get_length: Optional[Callable[[Any], int]] = None) -> Batcher:
    """Length-sorted batches of at most `size` padded words (see
    `minibatch_by_padded_size`)."""
    sizes = _lifelong(size)

    def batch(items: Iterable[Any]) -> Iterator[List[Any]]:
        return minibatch_by_padded_size(items, sizes(), buffer=buffer,
                                        discard_oversize=discard_oversize, get_length=get_length)

    return batch


@registry.batchers("nlp_core.batch_by_sequence.v1", aliases=["spacy.batch_by_sequence.v1"])
def configure_batch_by_sequence(size: Sizing,
                                get_length: Optional[Callable[[Any], int]] = None) -> Batcher:
    """Batches of `size` items. `get_length` is accepted for configs written for spaCy
    and not used."""
    sizes = _lifelong(size)

    def batch(items: Iterable[Any]) -> Iterator[List[Any]]:
        return minibatch(items, sizes())

    return batch


__all__ = ["configure_batch_by_padded", "configure_batch_by_sequence",
           "configure_batch_by_words", "item_length", "minibatch", "minibatch_by_padded_size",
           "minibatch_by_words"]
