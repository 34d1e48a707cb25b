"""The LoRA settings of TransformerModel.v3 (lora.py holds the adapters), checked when the
config is built, without importing torch."""
import math
from typing import Any

from ...errors import Errors

# every linear layer of a BERT-style encoder layer: the attention's query, key, value and
# output projections, the feed-forward block's two matrices
DEFAULT_TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense",
                   "output.dense")


def check_lora_settings(name: str, *, rank: Any, alpha: Any, targets: Any,
                        dropout: Any) -> None:
    """ValueError E710 naming the first bad LoRA setting of TransformerModel `name`."""
    problems = []
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
        problems.append(("lora_rank", rank, "an integer >= 0 (0: no adapters)"))
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0 \
            or not math.isfinite(alpha):
        problems.append(("lora_alpha", alpha, "a number > 0"))
    if isinstance(targets, str) or not isinstance(targets, (list, tuple)) or not targets \
            or not all(isinstance(t, str) and t.strip(".") == t and t for t in targets):
        problems.append(("lora_targets", targets,
                         "a non-empty list of module name suffixes, e.g. [\"query\", \"value\"]"))
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
            or not 0 <= dropout < 1:
        problems.append(("lora_dropout", dropout, "a number >= 0 and < 1"))
    if problems:
        key, value, want = problems[0]
        raise ValueError(Errors.E710.format(name=name, key=key, value=value, want=want))
