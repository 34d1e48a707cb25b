"""`max_batch_items = "auto"`: the encoder's sub-batch size chosen on the GPU at run time.

    [components.transformer]
    max_batch_items = "auto"        # or a number of padded wordpiece positions (4096)

A batch's windows run through the encoder in sub-batches of at most `max_batch_items`
padded positions, shortest windows first (windows.py). Which size is fastest depends on
the device and the arithmetic: on an H200 with float32 the smallest padding won (4,096:
0.6x a raw HF forward's time), with mixed precision the fewest kernel launches (65,536:
0.86x; 4,096 was 1.4-1.5x), benchmarks/README.md "GPU checks". So "auto" measures it:

- on the CPU, and in training, it is DEFAULT_ITEMS (4,096, spaCy's default), where the
  padding saved by small sub-batches is what counts;
- at the first prediction on a GPU over a batch of at least TUNE_MIN_TOKENS tokens, the
  batch runs at DEFAULT_ITEMS, then at twice that, and so on (each size twice, the faster
  run counting), while the size still splits the batch, the GPU's memory holds the next
  size (the peak bytes per padded position measured so far times the next size, within
  MEMORY_SHARE of what is free to torch), and a larger size was faster less than
  GIVE_UP_AFTER sizes ago. The fastest size is kept for the process (each worker process
  measures its own). Out of memory ends the trials at the size before.
- when the fastest size was the one that held the whole measured batch (no split was
  fastest, and nothing larger could be told apart on it), the size kept is the largest
  the memory bound allows (doubling it while the peak per position times the size stays
  within MEMORY_SHARE of the free memory, up to MAX_ITEMS): the measured batch is not
  always the largest, and a size fitted to it would split every larger batch. On an H200
  the job's first large batch (18,231 positions) was held by 32,768, which then split 14
  of its 81 batches (up to 46,552 positions).

Predictions at different sizes agree to float rounding (attention masks padding out), so
the size changes speed, not the annotations beyond the last bits of the vectors.
"""
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple, Union

from ...errors import Errors

AUTO = "auto"
DEFAULT_ITEMS = 4096
# a batch with fewer tokens does not tell sizes apart: it runs at DEFAULT_ITEMS untuned
TUNE_MIN_TOKENS = 2 * DEFAULT_ITEMS
# share of the GPU memory free to torch that the largest size's peak may take
MEMORY_SHARE = 0.5
# sizes tried past the fastest one before the trials stop
GIVE_UP_AFTER = 2
# a larger size must be this much faster to count as faster (timing noise)
MIN_GAIN = 0.03
# never more than this (2^20 positions: 2,048 windows of 512)
MAX_ITEMS = 1 << 20

logger = logging.getLogger(__name__)


def check_max_batch_items(value: Any, *, name: str) -> Union[int, str]:
    """`value` as a positive int, or "auto"; ValueError E726 naming the component."""
    if value == AUTO:
        return AUTO
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
            or int(value) < 1:
        raise ValueError(Errors.E726.format(name=name, value=value))
    return int(value)


@dataclass
class Trial:
    items: int
    seconds: float
    peak_bytes: int


@dataclass
class Choice:
    """What `choose` settled on, and the trials that led there (for the log)."""

    items: int
    trials: List[Trial] = field(default_factory=list)
    stopped_by: str = ""

    def describe(self) -> str:
        runs = ", ".join(f"{t.items}: {t.seconds * 1000:.1f} ms" for t in self.trials)
        return f"{self.items} ({runs}; stopped: {self.stopped_by})"


class OutOfMemory(Exception):
    """A trial ran out of device memory (raised by `run`)."""


def choose(run: Callable[[int], Tuple[float, int]], *, whole_batch: int,
           free_bytes: int, start: int = DEFAULT_ITEMS) -> Choice:
    """The fastest sub-batch size: `start`, 2 x `start`, ... (see the module docstring).

    Args:
        run: items -> (seconds, peak bytes) of one prediction of the batch at that size
            (the best of its repetitions); raises OutOfMemory.
        whole_batch: padded positions of the batch as one sub-batch (windows x longest):
            a size at or above it runs the batch the same way as any larger one.
        free_bytes: device memory the trials may use.
    """
    choice = Choice(items=start)
    best: Optional[Trial] = None
    items = start
    while True:
        try:
            seconds, peak = run(items)
        except OutOfMemory:
            choice.stopped_by = f"out of memory at {items}"
            break
        trial = Trial(items, seconds, peak)
        choice.trials.append(trial)
        if best is None or seconds < best.seconds * (1 - MIN_GAIN):
            best = trial
        following = items * 2
        per_item = peak / max(min(items, whole_batch), 1)
        if items >= whole_batch:
            choice.stopped_by = "one sub-batch holds the batch"
            if best is trial:
                choice.items = _largest_held(items, per_item, free_bytes)
                if choice.items > items:
                    choice.stopped_by += (f"; no split was fastest: {choice.items}, as "
                                          f"memory allows")
                return choice
            break
        if following > MAX_ITEMS:
            choice.stopped_by = f"the limit of {MAX_ITEMS}"
            break
        if per_item * following > free_bytes * MEMORY_SHARE:
            choice.stopped_by = f"memory: {following} would need ~{per_item * following:.3g} B"
            break
        if sum(t.items > best.items for t in choice.trials) >= GIVE_UP_AFTER:
            choice.stopped_by = f"{GIVE_UP_AFTER} larger sizes were not faster"
            break
        items = following
    if best is not None:
        choice.items = best.items
    return choice


def _largest_held(items: int, per_item: float, free_bytes: int) -> int:
    """`items` doubled while the memory bound (MEMORY_SHARE of `free_bytes` at
    `per_item` bytes a position) and MAX_ITEMS allow."""
    while items * 2 <= MAX_ITEMS and per_item * items * 2 <= free_bytes * MEMORY_SHARE:
        items *= 2
    return items


def tune_on_gpu(predict: Callable[[int], Any], *, whole_batch: int, device: Any,
                repeats: int = 2) -> Choice:
    """`choose` with torch's CUDA clock and memory counters: `predict(items)` predicts the
    batch at that sub-batch size."""
    import torch  # an encoder is loaded on this device: torch is imported already

    def run(items: int) -> Tuple[float, int]:
        best, peak = float("inf"), 0
        for _ in range(repeats):
            torch.cuda.synchronize(device)
            before = torch.cuda.memory_allocated(device)
            torch.cuda.reset_peak_memory_stats(device)
            started = time.perf_counter()
            try:
                predict(items)
                torch.cuda.synchronize(device)
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                raise OutOfMemory() from None
            best = min(best, time.perf_counter() - started)
            peak = max(peak, torch.cuda.max_memory_allocated(device) - before)
        return best, peak

    free, _ = torch.cuda.mem_get_info(device)
    # what torch's allocator holds but does not use is free to it too
    free += torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    return choose(run, whole_batch=whole_batch, free_bytes=free)


def log_choice(name: str, device: Any, choice: Choice) -> None:
    logger.info("transformer %r on %s: max_batch_items = %s", name, device, choice.describe())
