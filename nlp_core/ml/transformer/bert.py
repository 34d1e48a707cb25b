"""A BERT (or RoBERTa) encoder in plain torch, read straight from a HF model directory.

Loading a BERT through `transformers.AutoModel` imports transformers' modelling stack
(torch.distributed, dynamo, masking utilities...): about 2 seconds of every process that
loads a transformer pipeline, a Beam worker's included. A BERT is small enough to write out:
`load_native` builds this module from the directory's config.json and model.safetensors
when the model is one it computes exactly: BERT, and the RoBERTa family, which differs only
in where its positions start. For any other, `unsupported` says why, and the caller uses
transformers as before.

The module's parameter names are HF's `BertModel`'s (`RobertaModel`'s are the same), so its
state dict, what it saves (config.json + model.safetensors, loadable by `AutoModel`), the
LoRA targets and the base weights' hashes are the same whichever loaded the model. The
pooler is kept when the checkpoint has it (saved again as read) but not computed: nothing
here uses it.
"""
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor
from torch.nn import functional

from ...pipeline_files import read_json
from .base_weights import CONFIG_FILE, WEIGHTS_FILE

# settings a pipeline's transformer_config may change on a native encoder; any other key
# goes to transformers, which knows them all
SETTINGS = ("output_hidden_states", "hidden_dropout_prob", "attention_probs_dropout_prob")
_ACTIVATIONS = {
    "gelu": functional.gelu,
    "relu": functional.relu,
    "gelu_new": lambda x: functional.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: functional.gelu(x, approximate="tanh"),
}
# config.json values that change what a BERT computes, and the only value supported
_FIXED = {"position_embedding_type": "absolute", "is_decoder": False,
          "add_cross_attention": False, "chunk_size_feed_forward": 0}
_REQUIRED = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
             "intermediate_size", "max_position_embeddings")
# model_type -> (HF's class, the base model's prefix in checkpoints with a head, whether
# positions count from the padding id + 1 over the non-padding tokens, as RoBERTa's do)
FAMILIES = {"bert": ("BertModel", "bert", False),
            "roberta": ("RobertaModel", "roberta", True),
            "xlm-roberta": ("XLMRobertaModel", "roberta", True),
            "camembert": ("CamembertModel", "roberta", True)}


class EncoderConfig:
    """config.json's settings as attributes (what callers read off a HF config:
    `hidden_size`, `model_type`, `max_position_embeddings`, `output_hidden_states`...)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__["_values"] = dict(values)

    def __getattr__(self, name: str) -> Any:
        # __dict__ directly: copy and pickle look attributes up before __init__ has run
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def save_pretrained(self, path: str) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        values = {**self._values,
                  "architectures": [FAMILIES[self._values["model_type"]][0]]}
        (Path(path) / CONFIG_FILE).write_text(json.dumps(values, indent=2, sort_keys=True)
                                              + "\n", encoding="utf8")


class EncoderOutput:
    """What the encoder returns: `last_hidden_state` (batch, seq, width) and, when asked
    for, `hidden_states` (the embeddings' output, then each layer's)."""

    def __init__(self, last_hidden_state: Tensor,
                 hidden_states: Optional[Tuple[Tensor, ...]]) -> None:
        self.last_hidden_state = last_hidden_state
        self.hidden_states = hidden_states


def unsupported(config: Mapping[str, Any], settings: Mapping[str, Any]) -> Optional[str]:
    """Why BertEncoder cannot stand in for transformers' model of `config` (config.json's
    values) with `settings` (transformer_config), or None when it can."""
    if config.get("model_type") not in FAMILIES:
        return f"model_type {config.get('model_type')!r} is not one of {sorted(FAMILIES)}"
    other = sorted(set(settings) - set(SETTINGS))
    if other:
        return f"transformer_config sets {other[0]!r}"
    for key in _REQUIRED:
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return f"{key} is {value!r}"
    for key in ("layer_norm_eps", "hidden_dropout_prob", "attention_probs_dropout_prob"):
        value = {**config, **settings}.get(key, 0.1)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0 <= value < 1 or (key == "layer_norm_eps" and value == 0):
            return f"{key} is {value!r}"
    types = config.get("type_vocab_size", 2)
    if isinstance(types, bool) or not isinstance(types, int) or types <= 0:
        return f"type_vocab_size is {types!r}"
    for key, value in _FIXED.items():
        if config.get(key, value) != value:
            return f"{key} is {config.get(key)!r}"
    if config.get("hidden_act", "gelu") not in _ACTIVATIONS:
        return f"hidden_act {config.get('hidden_act')!r}"
    pad = config.get("pad_token_id")
    if pad is not None and (isinstance(pad, bool) or not isinstance(pad, int)
                            or not 0 <= pad < config["vocab_size"]):
        return f"pad_token_id is {pad!r}"
    if FAMILIES[config["model_type"]][2] and (pad is None
                                              or pad >= config["max_position_embeddings"]):
        return f"pad_token_id is {pad!r}, and its positions start after it"
    if config["hidden_size"] % config["num_attention_heads"]:
        return "hidden_size is not a multiple of num_attention_heads"
    # transformers loads a model in the dtype its config names
    if any(config.get(key) not in (None, "float32") for key in ("dtype", "torch_dtype")):
        return "its weights are not float32"
    return None


class _Embeddings(torch.nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        width = config.hidden_size

        def table(rows: int, padding_idx: Optional[int] = None) -> torch.nn.Embedding:
            # made from an empty tensor: an Embedding's own random init on the meta device
            # imports torch's reference decompositions (about 1 s)
            return torch.nn.Embedding.from_pretrained(torch.empty(rows, width), freeze=False,
                                                      padding_idx=padding_idx)

        self.pad_id = config.get("pad_token_id")
        self.offset_positions = FAMILIES[config.model_type][2]
        self.word_embeddings = table(config.vocab_size, self.pad_id)
        self.position_embeddings = table(config.max_position_embeddings,
                                         self.pad_id if self.offset_positions else None)
        self.token_type_embeddings = table(config.get("type_vocab_size", 2))
        self.LayerNorm = torch.nn.LayerNorm(width, eps=config.get("layer_norm_eps", 1e-12))
        self.dropout = torch.nn.Dropout(config.get("hidden_dropout_prob", 0.1))

    def forward(self, input_ids: Tensor) -> Tensor:
        # every token of segment 0 (one text per window)
        embedded = self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0]
        if self.offset_positions:
            # RoBERTa: the non-padding tokens count from pad_id + 1; padding stays at pad_id
            real = input_ids.ne(self.pad_id)
            positions = torch.cumsum(real, dim=1) * real + self.pad_id
            embedded = embedded + self.position_embeddings(positions)
        else:
            embedded = embedded + self.position_embeddings.weight[:input_ids.shape[1]]
        return self.dropout(self.LayerNorm(embedded))


class _Projections(torch.nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.query = torch.nn.Linear(width, width)
        self.key = torch.nn.Linear(width, width)
        self.value = torch.nn.Linear(width, width)


class _Residual(torch.nn.Module):
    """dense -> dropout -> add the residual -> LayerNorm."""

    def __init__(self, width_in: int, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = torch.nn.Linear(width_in, config.hidden_size)
        self.LayerNorm = torch.nn.LayerNorm(config.hidden_size,
                                            eps=config.get("layer_norm_eps", 1e-12))
        self.dropout = torch.nn.Dropout(config.get("hidden_dropout_prob", 0.1))

    def forward(self, hidden: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class _Attention(torch.nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.self = _Projections(config.hidden_size)
        self.output = _Residual(config.hidden_size, config)
        self.heads = config.num_attention_heads
        self.dropout_p = float(config.get("attention_probs_dropout_prob", 0.1))

    def forward(self, hidden: Tensor, mask: Optional[Tensor]) -> Tensor:
        batch, length, width = hidden.shape

        def split(projection: torch.nn.Module) -> Tensor:
            return projection(hidden).view(batch, length, self.heads, -1).transpose(1, 2)

        context = functional.scaled_dot_product_attention(
            split(self.self.query), split(self.self.key), split(self.self.value),
            attn_mask=mask, dropout_p=self.dropout_p if self.training else 0.0)
        return self.output(context.transpose(1, 2).reshape(batch, length, width), hidden)


class _Intermediate(torch.nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = torch.nn.Linear(config.hidden_size, config.intermediate_size)
        self.activation = _ACTIVATIONS[config.get("hidden_act", "gelu")]

    def forward(self, hidden: Tensor) -> Tensor:
        return self.activation(self.dense(hidden))


class _Layer(torch.nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.attention = _Attention(config)
        self.intermediate = _Intermediate(config)
        self.output = _Residual(config.intermediate_size, config)

    def forward(self, hidden: Tensor, mask: Optional[Tensor]) -> Tensor:
        attended = self.attention(hidden, mask)
        return self.output(self.intermediate(attended), attended)


class _Layers(torch.nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.layer = torch.nn.ModuleList(_Layer(config)
                                         for _ in range(config.num_hidden_layers))


class _Pooler(torch.nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.dense = torch.nn.Linear(width, width)


class BertEncoder(torch.nn.Module):
    """BERT's embeddings and layers with HF's parameter names, called as a HF encoder is
    (`encoder(input_ids=, attention_mask=, output_hidden_states=)`). Its parameters are
    not initialised: `load_native` builds it on the meta device and assigns every tensor
    from a checkpoint.

    Attributes:
        config: an EncoderConfig.
        base_model_prefix: "bert" or "roberta", the prefix of the base model's names in HF
            checkpoints of the model with a head.
    """

    def __init__(self, config: EncoderConfig, *, pooler: bool = True) -> None:
        super().__init__()
        self.config = config
        self.base_model_prefix = FAMILIES[config.model_type][1]
        self.embeddings = _Embeddings(config)
        self.encoder = _Layers(config)
        self.pooler = _Pooler(config.hidden_size) if pooler else None

    def forward(self, input_ids: Tensor, attention_mask: Optional[Tensor] = None,
                output_hidden_states: Optional[bool] = None) -> EncoderOutput:
        if output_hidden_states is None:
            output_hidden_states = bool(self.config.get("output_hidden_states", False))
        mask = None
        if attention_mask is not None:
            real = attention_mask.bool()
            if not bool(real.all()):
                # (batch, 1, 1, seq): every query of a window sees its window's real tokens
                mask = real[:, None, None, :]
        hidden = self.embeddings(input_ids)
        states: List[Tensor] = [hidden]
        for layer in self.encoder.layer:
            hidden = layer(hidden, mask)
            states.append(hidden)
        return EncoderOutput(hidden, tuple(states) if output_hidden_states else None)

    def save_pretrained(self, path: str, state_dict: Optional[Dict[str, Tensor]] = None
                        ) -> None:
        """config.json and model.safetensors (`state_dict`, by default the module's), in
        the layout `transformers.AutoModel.from_pretrained` reads."""
        self.config.save_pretrained(path)
        state = self.state_dict() if state_dict is None else state_dict
        save_file({key: value.detach().contiguous() for key, value in state.items()},
                  str(Path(path) / WEIGHTS_FILE), metadata={"format": "pt"})


def read_config(directory: Path) -> Optional[Dict[str, Any]]:
    """config.json of a model directory as a dict, or None when it cannot be read as one."""
    try:
        return read_json(Path(directory) / CONFIG_FILE, expect=dict)
    except (OSError, ValueError):  # ValueError: read_json's E231
        return None


def load_native(directory: Path, settings: Mapping[str, Any],
                weights_from: Optional[Path] = None) -> Tuple[Optional[BertEncoder], str]:
    """(encoder, "") built from `directory`'s config.json with `settings` applied and the
    weights of `weights_from` (default: `directory`) in eval mode, or (None, why) when
    transformers has to load it: not a BERT computed here (`unsupported`), weights not in
    one float32 model.safetensors, or tensors missing or of other shapes."""
    config = read_config(directory)
    if config is None:
        return None, f"no readable {CONFIG_FILE}"
    reason = unsupported(config, settings)
    if reason:
        return None, reason
    weights = Path(weights_from or directory) / WEIGHTS_FILE
    if not weights.is_file():
        return None, f"no {WEIGHTS_FILE}"
    values = EncoderConfig({**config, **settings})
    try:
        with safe_open(str(weights), framework="pt") as handle:
            names = set(handle.keys())
            prefix = FAMILIES[values.model_type][1] + "."
            if prefix + "embeddings.word_embeddings.weight" not in names:
                prefix = ""
            # the layers the config names must be there before they are built: a config
            # asking for 10**9 layers is refused here, not after building them
            last = f"{prefix}encoder.layer.{values.num_hidden_layers - 1}.output.dense.weight"
            if last not in names:
                return None, f"the checkpoint has no {last}"
            with torch.device("meta"):
                encoder = BertEncoder(values, pooler=prefix + "pooler.dense.weight" in names)
            expected = encoder.state_dict()
            for key, meta in expected.items():
                # shapes and dtypes from the header, before any tensor is read
                if prefix + key not in names:
                    return None, f"the checkpoint has no {prefix + key}"
                found = handle.get_slice(prefix + key)
                if list(found.get_shape()) != list(meta.shape) or found.get_dtype() != "F32":
                    return None, f"{prefix + key} is {found.get_dtype()} {found.get_shape()}"
            state = {key: handle.get_tensor(prefix + key) for key in expected}
    except (OSError, SafetensorError) as err:
        return None, f"{weights} could not be read ({err})"
    encoder.load_state_dict(state, assign=True)
    return encoder.eval(), ""

