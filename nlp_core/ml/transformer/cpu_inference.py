"""The encoder's arithmetic at inference on the CPU: float32 (as trained), bfloat16
autocast, or int8 dynamic quantization of its linear layers.

    [components.transformer]
    cpu_inference = "bfloat16"      # or "int8"; default "float32"

Measured on MiniLM-L6 (benchmarks/README.md, `transformer_cpu_int8`): bfloat16 autocast
keeps the dev scores (within 0.05 points) and is fast on a CPU with AVX512-BF16 or AMX
(1.9-2.0x float32); elsewhere torch emulates it, which ran at 0.17-0.18x float32 on an
AVX2-only CPU, so a process warns once (W700) when it runs bfloat16 on a CPU whose flags
lack it; int8 runs on any x86 CPU (fbgemm / oneDNN) at a small accuracy cost (1.6-1.7x
float32 with VNNI, 1.1-1.2x on that AVX2-only CPU). Both only apply to predictions on the
CPU: training, and an encoder on a GPU, always use the float32 weights, which are the ones
saved.

The int8 encoder is a copy of the float32 one (the float32 weights stay, for saving and
training; LoRA adapters are merged into the copy's weights, lora.py): every `nn.Linear`
with per-output-channel int8 weights and activations quantized per batch, except the
down-projections (more inputs than outputs: the feed-forward block's second matrix), whose
GELU inputs have outliers that one activation scale per tensor loses (on MiniLM that cost
0.5 LAS points; kept in float32 it costs ~0.2 and ~30% of the speed-up).
"""
import warnings
from pathlib import Path
from typing import Any, Optional

from ...errors import Errors, Warnings

CPU_INFERENCE = ("float32", "bfloat16", "int8")
# /proc/cpuinfo flags of bfloat16 dot products: x86 AVX512-BF16 and AMX, Arm's BF16
BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
_warned_emulated = False


def check_cpu_inference(value: str, *, name: str) -> str:
    """`value` if it is one of CPU_INFERENCE, else ValueError E700 naming the component."""
    if value not in CPU_INFERENCE:
        raise ValueError(Errors.E700.format(name=name, value=value, known=CPU_INFERENCE))
    return value


def quantize_int8(encoder: Any) -> Any:
    """An inference copy of `encoder` (eval mode, CPU) whose linear layers, except the
    down-projections, compute in int8 (torch's dynamic quantization, per-channel weights).

    Raises:
        RuntimeError: E702 when this torch has no dynamic quantization.
    """
    import torch  # the optional `transformers` extra: imported once an encoder runs

    try:  # torch (the optional extra) again; its eager quantization API may be gone
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    except ImportError as err:
        raise RuntimeError(Errors.E702.format(version=torch.__version__, reason=err)) from None
    # lora.py imports torch, imported above; LoRA layers become plain merged linears
    from .lora import merged_copy

    inference = merged_copy(encoder).eval()
    spec = {name: per_channel_dynamic_qconfig for name, module in inference.named_modules()
            if isinstance(module, torch.nn.Linear)
            and module.in_features <= module.out_features}
    # torch marks its eager quantization API deprecated in favour of torchao (not a
    # dependency here); the warning is torch's, not something a user can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(inference, spec, dtype=torch.qint8)


def bfloat16_autocast(enabled: bool) -> Any:
    """A context in which the encoder's matrix products run in bfloat16 on the CPU
    (layer norms and softmax stay float32, as torch's autocast lists say)."""
    import torch  # the optional `transformers` extra: imported once an encoder runs

    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)


def native_bfloat16(cpuinfo: str = "/proc/cpuinfo") -> Optional[bool]:
    """Whether this CPU computes in bfloat16 natively (one of BFLOAT16_FLAGS among the
    `flags` / `Features` of `cpuinfo`); None where that cannot be read (not Linux)."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return not BFLOAT16_FLAGS.isdisjoint(value.split())
    return None


def warn_if_emulated(cpuinfo: str = "/proc/cpuinfo") -> None:
    """Warn once per process (W700) when bfloat16 would be emulated on this CPU."""
    global _warned_emulated
    if _warned_emulated:
        return
    _warned_emulated = True
    if native_bfloat16(cpuinfo) is False:
        warnings.warn(Warnings.W700, stacklevel=3)
