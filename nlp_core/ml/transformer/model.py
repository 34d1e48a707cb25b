"""TransformerModel.v3: docs -> FullTransformerBatch, a HF encoder behind thinc's PyTorch
shim.

    [components.transformer.model]
    @architectures = "spacy-transformers.TransformerModel.v3"
    name = "bert-base-cased"            # or a local model directory
    tokenizer_config = {"use_fast": true}

    [components.transformer.model.get_spans]
    @span_getters = "spacy-transformers.doc_spans.v1"

With `lora_rank` > 0 the encoder's weights are frozen and LoRA adapters on its linear layers
are trained instead (lora.py: `lora_rank`, `lora_alpha`, `lora_targets`, `lora_dropout`);
predictions use the merged weights. 0 (the default) fine-tunes the whole encoder, as before.

The encoder and tokenizer are loaded by `initialize()` (from `name`) or by the
component's `from_disk` (from the saved pipeline), never when the config is built, so a
saved pipeline loads without the original model or the hub.

Backprop takes one (n_wp, width) gradient per doc, for `wordpiece_output`: what the
listeners send back.
"""
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy
import srsly
from thinc.api import ArgsKwargs, Model, PyTorchGradScaler, PyTorchShim, torch2xp, xp2torch
from thinc.types import Floats2d, Ragged

from ...errors import Errors
from ...registry import registry
from ...tokens import Doc
from .base_weights import (
    BASE_FILE,
    WEIGHTS_FILE,
    check_base,
    check_unchanged,
    describe_base,
    local_weights,
    read_base,
)
from .batch_items import DEFAULT_ITEMS
from .data import FullTransformerBatch, WordpieceBatch
from .extra import require_extra
from .loading import (
    ADAPTERS_FILE,
    check_settings,
    load_adapters,
    load_pretrained,
    max_positions,
    save_adapters,
    save_pretrained,
)
from .lora_settings import DEFAULT_TARGETS as DEFAULT_LORA_TARGETS
from .lora_settings import check_lora_settings
from .windows import CPU_CALL_POSITIONS, WindowBatch, Wordpiecer, build_windows

# thinc 9's shim calls torch.cuda.amp.autocast, which torch deprecates with a FutureWarning
# on every forward; the call is thinc's, not the user's, and the warning says nothing they
# can act on.
warnings.filterwarnings("ignore", message=r".*torch\.cuda\.amp\.autocast",
                        category=FutureWarning)


class TransformerShim(PyTorchShim):
    """thinc's PyTorch shim, with an optimizer step that writes into the existing torch
    parameters. (thinc's own step rebinds each `param.data` to a tensor made from the
    optimizer's output, which keeps a chain of wrappers alive from step to step: memory grew
    by megabytes per update when fine-tuning MiniLM.)"""

    def finish_update(self, optimizer: Any) -> None:
        import torch  # heavy: imported once a transformer is trained

        for name, param in self._model.named_parameters():
            if param.grad is None:
                continue
            if not self._grad_scaler.found_inf:
                weights = torch2xp(param.data)
                updated, _ = optimizer((self.id, name), weights, torch2xp(param.grad))
                new = xp2torch(updated, device=param.device)
                if new.data_ptr() != param.data.data_ptr():  # optimizers may update in place
                    with torch.no_grad():
                        param.copy_(new)
            param.grad.zero_()
        self._grad_scaler.update()
        self._model.weights_changed()

    def from_bytes(self, bytes_data: bytes) -> "TransformerShim":
        super().from_bytes(bytes_data)
        self._model.weights_changed()
        return self


class TransformerModel(Model):
    """A thinc Model[List[Doc], FullTransformerBatch] holding a HF encoder in a PyTorch
    shim (`shims[0]`, present once loaded). Needs torch and transformers (the
    `nlp-core[transformers]` extra): MissingExtraError (E339) when either is not installed.

    Attributes:
        get_spans: the span getter.
        tokenizer_config, transformer_config: as given in the config.
        wordpiecer: the tokenizer and its special tokens (None until loaded).
        attrs["cpu_inference"]: "float32" (default), "bfloat16" or "int8": the encoder's
            arithmetic for predictions on the CPU (cpu_inference.py; the component sets
            it from its config).
        attrs["lora_rank"], ["lora_alpha"], ["lora_targets"], ["lora_dropout"]: the LoRA
            settings (lora.py); rank 0: no adapters.
    """

    def __init__(self, name: str, get_spans: Callable, *, tokenizer_config: Dict[str, Any],
                 transformer_config: Dict[str, Any], mixed_precision: bool,
                 grad_scaler_config: Dict[str, Any], lora_rank: int = 0,
                 lora_alpha: float = 16.0,
                 lora_targets: Sequence[str] = DEFAULT_LORA_TARGETS,
                 lora_dropout: float = 0.0) -> None:
        require_extra(str(name))
        check_settings(str(name), tokenizer_config, transformer_config)
        check_lora_settings(str(name), rank=lora_rank, alpha=lora_alpha,
                            targets=lora_targets, dropout=lora_dropout)
        Model.__init__(self, "transformer", _forward, init=_init, dims={"nO": None},
                       attrs={"name": str(name), "max_batch_items": DEFAULT_ITEMS,
                              "mixed_precision": bool(mixed_precision),
                              "cpu_inference": "float32", "lora_rank": int(lora_rank),
                              "lora_alpha": float(lora_alpha),
                              "lora_targets": [str(t) for t in lora_targets],
                              "lora_dropout": float(lora_dropout)})
        self.get_spans = get_spans
        self.tokenizer_config = dict(tokenizer_config)
        self.transformer_config = dict(transformer_config)
        self.grad_scaler_config = dict(grad_scaler_config)
        self.wordpiecer: Wordpiecer | None = None

    @property
    def is_loaded(self) -> bool:
        return bool(self.shims)

    @property
    def encoder(self) -> Any:
        """The HF encoder (a torch module)."""
        self._check_loaded()
        return self.shims[0]._model.encoder

    @property
    def tokenizer(self) -> Any:
        self._check_loaded()
        return self.wordpiecer.tokenizer

    def _check_loaded(self) -> None:
        if not self.is_loaded:
            raise ValueError(Errors.E332)

    def load(self, source: str | Path, *, from_saved: bool = False) -> None:
        """Load the encoder and tokenizer from a model name or directory (the config's
        settings apply unless `from_saved`: a saved pipeline has them baked in, and its
        LoRA adapters, if any, are read from `source` too)."""
        settings = {} if from_saved else self.transformer_config
        weights_from = None
        if from_saved and (Path(source) / BASE_FILE).exists():
            # saved without its weights: the base named by `name`, checked by hash
            weights_from = check_base(self.attrs["name"], read_base(Path(source)),
                                      saved=Path(source))
        encoder, tokenizer = load_pretrained(
            source, tokenizer_config={} if from_saved else self.tokenizer_config,
            transformer_config=settings, weights_from=weights_from, saved=from_saved)
        self.set_encoder(encoder, tokenizer)
        if from_saved:
            self._load_saved_adapters(Path(source))

    def _load_saved_adapters(self, path: Path) -> None:
        # lora.py imports torch; an encoder is loaded, so torch is too
        from .lora import load_adapter_state

        saved = load_adapters(path)
        rank = self.attrs["lora_rank"]
        if saved is None and rank == 0:
            return
        if saved is None or rank == 0:
            raise ValueError(Errors.E714.format(
                name=self.attrs["name"], path=path, rank=rank,
                found="no adapters file" if saved is None else "an adapters file"))
        state, settings = saved
        for key in ("lora_rank", "lora_alpha", "lora_targets"):
            if settings.get(key) != self.attrs[key]:
                raise ValueError(Errors.E716.format(
                    name=self.attrs["name"], path=path, key=key, saved=settings.get(key),
                    value=self.attrs[key]))
        load_adapter_state(self.shims[0]._model.encoder, state, source=str(path))

    def set_encoder(self, encoder: Any, tokenizer: Any) -> None:
        """Use `encoder` (a HF torch module) and its fast `tokenizer`; with `lora_rank`
        > 0, freeze it and add new LoRA adapters (lora.py) to its targeted layers."""
        from .encoder import WindowedEncoder  # imports torch: lazy until an encoder is set
        from .lora import add_adapters  # imports torch, as encoder.py

        if self.attrs["lora_rank"] > 0:
            add_adapters(encoder, rank=self.attrs["lora_rank"], alpha=self.attrs["lora_alpha"],
                         targets=self.attrs["lora_targets"],
                         dropout=self.attrs["lora_dropout"], name=self.attrs["name"])
        hidden = bool(getattr(encoder.config, "output_hidden_states", False))
        wrapped = WindowedEncoder(encoder=encoder, output_hidden_states=hidden)
        mixed = self.attrs["mixed_precision"]
        scaler = PyTorchGradScaler(**{"enabled": mixed, **self.grad_scaler_config})
        shim = TransformerShim(wrapped, mixed_precision=mixed, grad_scaler=scaler)
        self.shims[:] = [shim]
        self.wordpiecer = Wordpiecer.from_tokenizer(tokenizer, max_positions(encoder.config))
        self.set_dim("nO", int(encoder.config.hidden_size), force=True)

    def save(self, path: Path, *, encoder_weights: str = "full") -> None:
        """Write config.json and the tokenizer files into `path`, the encoder's own
        weights (without the adapters) as model.safetensors ("full") or, with
        `encoder_weights="adapters"`, base.json naming and hashing the base weights of
        `name` instead (base_weights.py), and adapters.safetensors when the encoder has
        LoRA adapters. Files of the other format left in `path` are removed.

        Raises:
            ValueError: E720 ("adapters") when the encoder's own weights differ from the
                base's, E722 when `name` is no local model.
        """
        # lora.py imports torch; the encoder is loaded, so torch is too
        from .lora import adapter_state, base_state, has_adapters

        path.mkdir(parents=True, exist_ok=True)
        if encoder_weights == "adapters":
            # parameters only: buffers (position ids) are made by the model's code
            name = self.attrs["name"]
            check_unchanged(name, local_weights(name),
                            base_state(self.encoder, parameters_only=True),
                            prefix=getattr(self.encoder, "base_model_prefix", ""))
            info = describe_base(name)
            save_pretrained(path, self.encoder, self.tokenizer, weights=False)
            srsly.write_json(path / BASE_FILE, info)
        else:
            save_pretrained(path, self.encoder, self.tokenizer,
                            state_dict=base_state(self.encoder))
        stale = [BASE_FILE if encoder_weights != "adapters" else WEIGHTS_FILE]
        if has_adapters(self.encoder):
            save_adapters(path, adapter_state(self.encoder), self.lora_settings())
        else:
            stale.append(ADAPTERS_FILE)
        for file_name in stale:
            (path / file_name).unlink(missing_ok=True)

    def lora_settings(self) -> Dict[str, Any]:
        """The LoRA settings as saved beside the adapters."""
        return {key: self.attrs[key] for key in
                ("lora_rank", "lora_alpha", "lora_targets", "lora_dropout")}


def _init(model: TransformerModel, X: Any = None, Y: Any = None) -> None:
    if not model.is_loaded:
        model.load(model.attrs["name"])


def _forward(model: TransformerModel, docs: List[Doc], is_train: bool
             ) -> Tuple[FullTransformerBatch, Callable[[List[Floats2d]], List]]:
    model._check_loaded()
    spans = model.get_spans(docs)
    shim = model.shims[0]
    device = shim.device
    batch = build_windows(docs, spans, model.wordpiecer, model.attrs["max_batch_items"],
                          CPU_CALL_POSITIONS if device.type == "cpu" else None)
    width = model.get_dim("nO")
    if not len(batch.lengths):
        xp = model.ops.xp
        output = xp.zeros((batch.n_wordpieces, width), dtype="f")
        return _full_batch(model, spans, batch, output, [xp.zeros((0, 0, width), dtype="f")]),\
            _no_gradient

    def tensor(array: numpy.ndarray) -> Any:
        return xp2torch(array, device=device)

    scale = None
    if batch.counts.max(initial=0) > 1:
        scale = tensor((1.0 / numpy.maximum(batch.counts, 1)).astype("f")[:, None])
    inputs = ArgsKwargs(args=(
        tensor(batch.input_ids), tensor(batch.attention_mask),
        [(tensor(rows.astype(numpy.int64)), length) for rows, length in batch.groups],
        tensor(batch.positions), None if batch.is_identity else tensor(batch.targets),
        scale, batch.n_wordpieces), kwargs={})
    # The component sets attrs["cpu_inference"] (cpu_inference.py), possibly after loading.
    shim._model.cpu_inference = model.attrs["cpu_inference"]
    outputs, torch_backprop = shim(inputs, is_train)
    # Outputs follow thinc's ops (numpy unless cupy is in use), wherever torch ran.
    wordpiece_output = torch2xp(outputs[0], ops=model.ops)
    full = _full_batch(model, spans, batch, wordpiece_output,
                       [torch2xp(h, ops=model.ops) for h in outputs[1:]])

    def backprop(d_outputs: List[Floats2d]) -> List:
        if not d_outputs:
            return []
        d_merged = model.ops.xp.concatenate(d_outputs, axis=0).astype("f", copy=False)
        torch_backprop(ArgsKwargs(args=(outputs[0],), kwargs={
            "grad_tensors": (xp2torch(d_merged, device=device),)}))
        return []

    return full, backprop


def _no_gradient(d_outputs: List[Floats2d]) -> List:
    return []


def _full_batch(model: TransformerModel, spans: List, batch: WindowBatch,
                wordpiece_output: Floats2d, tensors: List[Any]) -> FullTransformerBatch:
    return FullTransformerBatch(
        spans=spans,
        wordpieces=WordpieceBatch(batch.input_ids, batch.attention_mask, batch.lengths,
                                  model.wordpiecer.vocab),
        tensors=tensors, wordpiece_ids=batch.wordpiece_ids,
        wordpiece_offsets=batch.wordpiece_offsets, wordpiece_output=wordpiece_output,
        align=Ragged(batch.align_indices, batch.align_lengths), windows=batch.windows,
        doc_windows=batch.doc_windows, doc_wordpieces=batch.doc_wordpieces,
        doc_tokens=batch.doc_tokens, doc_links=batch.doc_links)


@registry.architectures("nlp_core.TransformerModel.v3",
                        aliases=["spacy-transformers.TransformerModel.v3"])
def TransformerModelArchitecture(name: str, get_spans: Callable,
                                 tokenizer_config: Dict[str, Any] = {},  # noqa: B006
                                 transformer_config: Dict[str, Any] = {},  # noqa: B006
                                 mixed_precision: bool = False,
                                 grad_scaler_config: Dict[str, Any] = {},  # noqa: B006
                                 lora_rank: int = 0, lora_alpha: float = 16.0,
                                 lora_targets: List[str] = list(DEFAULT_LORA_TARGETS),  # noqa: B006, B008
                                 lora_dropout: float = 0.0,
                                 ) -> TransformerModel:
    """A HF transformer as a thinc model: docs -> FullTransformerBatch.

    Args:
        name: a HF model name or a local model directory (loaded at initialize).
        get_spans: the span getter (which stretches of each doc form one input).
        tokenizer_config: keyword arguments of `AutoTokenizer.from_pretrained`; the
            tokenizer must be a fast one (character offsets).
        transformer_config: model config settings, e.g. {"output_hidden_states": true}
            to keep every layer in `trf_data.tensors`.
        mixed_precision: run the encoder under torch autocast (GPU).
        grad_scaler_config: settings of thinc's PyTorchGradScaler (init_scale,
            growth_factor, backoff_factor, growth_interval, enabled).
        lora_rank: > 0: freeze the encoder and train LoRA adapters of this rank on the
            `lora_targets` layers (lora.py); 0: fine-tune the whole encoder.
        lora_alpha: the adapters' update is scaled by lora_alpha / lora_rank.
        lora_targets: suffixes of the names of the encoder's nn.Linear layers to adapt.
        lora_dropout: dropout on the adapters' input in training, 0 <= p < 1.
    """
    return TransformerModel(name, get_spans, tokenizer_config=tokenizer_config,
                            transformer_config=transformer_config,
                            mixed_precision=mixed_precision,
                            grad_scaler_config=grad_scaler_config, lora_rank=lora_rank,
                            lora_alpha=lora_alpha, lora_targets=lora_targets,
                            lora_dropout=lora_dropout)
