"""Loading and saving the HF encoder and tokenizer: offline, safetensors, no pickle.

`transformers` is imported here, on first use, so that importing nlp_core (e.g. for a
tokenizer-only Beam job) does not pay for it.
"""
import os
from pathlib import Path
from typing import Any, Dict, Tuple, Union

from ...errors import Errors

# Model families whose position ids start after the padding index (so two of
# max_position_embeddings are not usable).
_OFFSET_POSITIONS = ("roberta", "xlm-roberta", "camembert", "longformer", "bart")


def load_pretrained(name: Union[str, Path], *, tokenizer_config: Dict[str, Any],
                    transformer_config: Dict[str, Any]) -> Tuple[Any, Any]:
    """The encoder (eval mode, on the CPU) and fast tokenizer that `name` names.

    Args:
        name: a local directory, or a hub name (found in the local HF cache; fetched only
            when HF_HUB_OFFLINE is not set).
        tokenizer_config: keyword arguments of `AutoTokenizer.from_pretrained`.
        transformer_config: settings of the model config (e.g. output_hidden_states).

    Raises:
        OSError: E330 when the files cannot be read.
        ValueError: E331 when the tokenizer is not a fast one.
    """
    # transformers is heavy (and torch with it): imported when a model is loaded
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    source = str(name)
    local = os.path.isdir(source)
    options = {"local_files_only": True} if local or os.environ.get("HF_HUB_OFFLINE") else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **{**options, **tokenizer_config})
    except (OSError, ValueError) as err:
        raise OSError(Errors.E330.format(what="the tokenizer", name=source,
                                                    reason=err)) from None
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(Errors.E331.format(name=source,
                                                       cls=type(tokenizer).__name__))
    try:
        config = AutoConfig.from_pretrained(source, **options, **transformer_config)
        encoder = AutoModel.from_pretrained(source, config=config, **options)
    except (OSError, ValueError) as err:
        raise OSError(Errors.E330.format(what="the model", name=source,
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


def save_pretrained(path: Path, encoder: Any, tokenizer: Any) -> None:
    """Write config.json, model.safetensors and the tokenizer files into `path`."""
    path.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
