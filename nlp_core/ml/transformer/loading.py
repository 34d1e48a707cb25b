"""Loading and saving the HF encoder and tokenizer: offline, safetensors, no pickle.

A model directory or config is untrusted input: `trust_remote_code` is always passed as
False (a model's own Python code never runs, whatever its config.json's `auto_map` says),
and no config setting can turn it on or let weights load from anything but safetensors
(E620); a directory whose weights are only pickle-based files (`pytorch_model.bin`, `.pt`,
...) is refused before transformers looks at it (E621), and `use_safetensors=True` makes
transformers refuse them too.

`transformers` is imported here, on first use, so that importing nlp_core (e.g. for a
tokenizer-only Beam job) does not pay for it.
"""
import json
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple, Union

from ...errors import Errors
from .base_weights import resolve_model_name

# LoRA adapters beside a saved encoder (lora.py)
ADAPTERS_FILE = "adapters.safetensors"
ADAPTERS_FORMAT = "nlp_core.lora_adapters"
ADAPTERS_VERSION = 1
# Model families whose position ids start after the padding index (so two of
# max_position_embeddings are not usable).
_OFFSET_POSITIONS = ("roberta", "xlm-roberta", "camembert", "longformer", "bart")
# from_pretrained settings that would run a model's code or load non-safetensors weights
FORBIDDEN_SETTINGS = ("trust_remote_code", "code_revision", "use_safetensors", "from_tf",
                      "from_flax", "weights_only", "gguf_file")
# weight files that are pickle (or may hold it): never handed to transformers
_PICKLED_WEIGHTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".h5", ".msgpack")


def check_settings(name: str, tokenizer_config: Mapping[str, Any],
                   transformer_config: Mapping[str, Any]) -> None:
    """ValueError E620 naming the first setting of FORBIDDEN_SETTINGS in either config."""
    for section, config in (("tokenizer_config", tokenizer_config),
                            ("transformer_config", transformer_config)):
        for key in FORBIDDEN_SETTINGS:
            if key in config:
                raise ValueError(Errors.E620.format(name=name, section=section, key=key,
                                                    value=config[key]))


def check_weights(path: str) -> None:
    """OSError E621 when the local model directory `path` has weight files but none of
    them is safetensors (transformers would unpickle them)."""
    names = os.listdir(path)
    if any(n.endswith(".safetensors") or n == "model.safetensors.index.json" for n in names):
        return
    pickled = sorted(n for n in names if n.endswith(_PICKLED_WEIGHTS))
    if pickled:
        kind = "pickle-based (torch / TF / Flax checkpoints)"
        raise OSError(Errors.E621.format(name=path, path=os.path.join(path, pickled[0]),
                                         kind=kind))


def load_pretrained(name: Union[str, Path], *, tokenizer_config: Dict[str, Any],
                    transformer_config: Dict[str, Any], weights_from: str | None = None,
                    saved: bool = False) -> Tuple[Any, Any]:
    """The encoder (eval mode, on the CPU) and fast tokenizer that `name` names. A local
    BERT or RoBERTa that bert.py computes exactly is built by bert.py, any other model by
    `transformers.AutoModel`; a saved pipeline's BERT tokenizer is read by
    saved_tokenizer.py, any other by `transformers.AutoTokenizer`.

    Args:
        name: a local directory, `package:NAME` (an installed package holding one:
            base_weights.py), or a hub name (found in the local HF cache; fetched only
            when HF_HUB_OFFLINE is not set).
        tokenizer_config: keyword arguments of `AutoTokenizer.from_pretrained`.
        transformer_config: settings of the model config (e.g. output_hidden_states).
        weights_from: a local model directory to read the weights from instead of
            `name` (whose config and tokenizer are used).
        saved: `name` is the model directory of a pipeline nlp_core saved (its tokenizer
            files are as transformers wrote them).

    Raises:
        OSError: E330 when the files cannot be read, E621 when the weights are not
            safetensors, E717 / E718 for a missing `package:`.
        ValueError: E331 when the tokenizer is not a fast one, E620 for a setting that
            would run the model's code or load other weights.
    """
    check_settings(str(name), tokenizer_config, transformer_config)
    source = resolve_model_name(str(name))
    local = os.path.isdir(source)
    if local:
        check_weights(source)
    if weights_from is not None:
        check_weights(weights_from)
    options: Dict[str, Any] = {"trust_remote_code": False}
    if local or os.environ.get("HF_HUB_OFFLINE"):
        options["local_files_only"] = True
    tokenizer = None
    if saved and local and not tokenizer_config:
        # imports `tokenizers`, which the transformers extra installs: lazy, as transformers
        from .saved_tokenizer import load_saved

        tokenizer = load_saved(Path(source))
    if tokenizer is None:
        # transformers is heavy (and torch with it): imported when a model is loaded
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(source,
                                                      **{**options, **tokenizer_config})
        except (OSError, ValueError) as err:
            raise OSError(Errors.E330.format(what="the tokenizer", name=source,
                                             reason=err)) from None
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(Errors.E331.format(name=source,
                                                       cls=type(tokenizer).__name__))
    if local:
        # bert.py: a BERT without transformers' modelling imports (seconds a process)
        from .bert import load_native

        encoder, _ = load_native(Path(source), transformer_config,
                                 None if weights_from is None else Path(weights_from))
        if encoder is not None:
            return encoder, tokenizer
    # transformers' modelling code is heavier still: imported for models bert.py leaves
    from transformers import AutoConfig, AutoModel

    try:
        config = AutoConfig.from_pretrained(source, **options, **transformer_config)
        encoder = AutoModel.from_pretrained(weights_from or source, config=config,
                                            use_safetensors=True, **options)
    except (OSError, ValueError) as err:
        raise OSError(Errors.E330.format(what="the model", name=weights_from or source,
                                                    reason=err)) from None
    encoder.eval()
    return encoder, tokenizer


def max_positions(config: Any) -> int | None:
    """The longest input the encoder's position embeddings allow."""
    limit = getattr(config, "max_position_embeddings", None)
    if limit is None:
        return None
    if getattr(config, "model_type", "") in _OFFSET_POSITIONS:
        limit -= 2
    return int(limit)


def save_pretrained(path: Path, encoder: Any, tokenizer: Any, *,
                    state_dict: Dict[str, Any] | None = None, weights: bool = True) -> None:
    """Write config.json, model.safetensors (`state_dict`, by default the encoder's; not
    without `weights`) and the tokenizer files into `path`."""
    path.mkdir(parents=True, exist_ok=True)
    if weights:
        encoder.save_pretrained(str(path), state_dict=state_dict)
    else:
        encoder.config.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))


def save_adapters(path: Path, state: Dict[str, Any], settings: Dict[str, Any]) -> None:
    """Write the LoRA adapters' tensors (lora.adapter_state) and their settings (JSON in
    the header's metadata) to `path`/adapters.safetensors."""
    # safetensors.torch imports torch: the adapters exist, so torch is loaded already
    from safetensors.torch import save_file

    path.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path / ADAPTERS_FILE), metadata={
        "format": ADAPTERS_FORMAT, "version": str(ADAPTERS_VERSION),
        "settings": json.dumps(settings, sort_keys=True)})


def load_adapters(path: Path) -> Tuple[Dict[str, Any], Dict[str, Any]] | None:
    """The adapters' tensors and settings in `path`/adapters.safetensors, or None when
    there is no such file.

    Raises:
        ValueError: E715 when the file is not an adapters file of a known version.
    """
    file = Path(path) / ADAPTERS_FILE
    if not file.exists():
        return None
    # safetensors.torch imports torch: an encoder is being loaded, so torch is loaded
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
        if metadata.get("format") != ADAPTERS_FORMAT \
                or metadata.get("version") != str(ADAPTERS_VERSION):
            raise ValueError(f"format {metadata.get('format')!r} version "
                             f"{metadata.get('version')!r}, expected {ADAPTERS_FORMAT!r} "
                             f"version {ADAPTERS_VERSION}")
        settings = json.loads(metadata.get("settings", ""))
        if not isinstance(settings, dict):
            raise ValueError("its settings are not a JSON object")
    except (OSError, ValueError, RuntimeError) as err:
        raise ValueError(Errors.E715.format(path=file, reason=err)) from None
    return state, settings
