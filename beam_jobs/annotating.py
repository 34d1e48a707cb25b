"""The DoFn that runs the pipeline on batches of records and emits Arrow record batches."""
import json
import time
from typing import Any, Dict, List, Optional, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils import shared

from schemas import annotations

from .arrow import docs_to_record_batch
from .extensions import (
    ExtensionReader,
    UserCode,
    check_declared,
    import_user_code,
    specs_from_strings,
)
from .model import SharedPipeline, tuned_batch_items
from .peak_memory import note_peak_gpu, note_peak_rss, note_value
from .records import DeadLetter, Record, raw_text
from .stage_times import StageClock
from .tensors import docs_to_tensor_batch
from .workers import limit_threads, steady_malloc

# Beam metrics distributions, one per worker process (`<host>:<pid>`), of its peak memory
PEAK_RSS_NAMESPACE = "annotate.peak_rss_kib"
PEAK_GPU_NAMESPACE = "annotate.peak_gpu_kib"
# max_batch_items "auto" chose on a GPU, per transformer component and worker process
BATCH_ITEMS_NAMESPACE = "annotate.max_batch_items"


class AnnotateBatches(beam.DoFn):
    """Batches of Records -> one `annotations` RecordBatch per batch.

    The pipeline is loaded in `setup()`, once per worker process: the `Shared` handle is
    pickled with the DoFn, so every deserialized copy in a process (one per SDK worker
    thread) finds the same pipeline. It runs on calls of at most 100,000 characters, a
    longer document in pieces joined back into one row (beam_jobs/pieces.py), so that
    memory stays bounded whatever the documents' lengths.
    After each batch the worker's peak RSS (and GPU memory with --gpu) goes to a Beam
    metrics distribution named after the process (peak_memory.py).
    Outputs: main, RecordBatches; "dead", a DeadLetter per document the pipeline failed on
    (or whose extension values do not fit their types);
    "stats", (docs, tokens, chars, seconds) per batch for the run summary; "tensors", a
    `tensors` RecordBatch per batch when `tensors` is not "none".

    Args:
        model: what `--model` names (see beam_jobs/model.py).
        keep_text: fill the `text` column.
        tensors, tensor_dtype: `--tensors` and `--tensor-dtype`.
        gpu_id: the GPU to run the pipeline on (`--gpu` / `--gpu-id`), -1 for the CPU.
        extensions: "LEVEL:NAME:TYPE" specs of the extension attributes to write as
            columns (beam_jobs/extensions.py); a document whose value does not fit its type
            is a dead letter ("extension_value").
        code: the --code file, imported in `setup()` before the pipeline loads.
        threads: BLAS / torch threads of each worker process (workers.py), None to leave
            them as they are.
        model_config: overrides of the pipeline's saved config (--model-config).
        parse_threads: threads for the parser's and NER's loops (--parse-threads; None:
            SharedPipeline's default).
    """

    DEAD = "dead"
    STATS = "stats"
    TENSORS = "tensors"

    def __init__(self, model: str, keep_text: bool, tensors: str = "none",
                 tensor_dtype: str = "float32", gpu_id: int = -1,
                 extensions: Sequence[str] = (), code: Optional[UserCode] = None,
                 threads: Optional[int] = None,
                 model_config: Optional[Dict[str, Any]] = None,
                 parse_threads: Optional[int] = None):
        self.model = model
        self.parse_threads = parse_threads
        self.model_config = dict(model_config or {})
        self.threads = threads
        self.extensions = tuple(extensions)
        self.code = code
        self.gpu_id = gpu_id
        self.keep_text = keep_text
        self.tensors = tensors
        self.tensor_dtype = tensor_dtype
        self._shared = shared.Shared()

    @property
    def annotations_schema(self):
        """The schema of the annotations this DoFn writes (with its extension columns)."""
        return annotations.schema(specs_from_strings(self.extensions))

    def setup(self):
        limit_threads(self.threads)
        steady_malloc()
        self._stages = StageClock()
        import_user_code(self.code)  # its components and extensions, before the pipeline
        specs = specs_from_strings(self.extensions)
        self._extensions = ExtensionReader(specs) if specs else None
        self._pipeline: SharedPipeline = self._shared.acquire(
            lambda: SharedPipeline(self.model, self.gpu_id, config=self.model_config,
                                   parse_threads=self.parse_threads),
            tag=(self.model, self.gpu_id, json.dumps(self.model_config, sort_keys=True),
                 self.parse_threads))
        self._docs = Metrics.counter("annotate", "docs_annotated")
        self._tokens = Metrics.counter("annotate", "tokens")
        self._chars = Metrics.counter("annotate", "chars")
        self._errors = Metrics.counter("annotate", "dead_letters_annotation_error")
        self._bad_values = Metrics.counter("annotate", "dead_letters_extension_value")
        # once per worker: the pipeline (and --code) must declare every attribute
        check_declared(specs, self.model, self.code)
        self._latency = Metrics.distribution("annotate", "batch_latency_ms")
        self._batch_docs = Metrics.distribution("annotate", "batch_docs")

    def process(self, batch: List[Record]):
        start = time.perf_counter()
        inputs = [r.text if r.doc_data is None else r.doc_data for r in batch]
        outputs: list = []
        # the Docs are valid inside batch(): strings the next batch may drop back them
        with self._pipeline.batch() as pipeline:
            docs, pieces, failures = pipeline.annotate_pieces(inputs)
            annotated = time.perf_counter()
            if failures:
                failed = {i for i, _ in failures}
                for i, message in failures:
                    self._errors.inc()
                    outputs.append(self._letter(batch[i], "annotation_error", message))
                batch = [r for i, r in enumerate(batch) if i not in failed]
            values: list = []
            if self._extensions is not None:
                values, bad = self._extensions.read(docs)
                if bad:
                    failed = {i for i, _ in bad}
                    for i, message in bad:
                        self._bad_values.inc()
                        outputs.append(self._letter(batch[i], "extension_value", message))
                    batch = [r for i, r in enumerate(batch) if i not in failed]
                    docs = [d for i, d in enumerate(docs) if i not in failed]
                    pieces = [p for i, p in enumerate(pieces) if i not in failed]
            info = pipeline.info
            rows = docs_to_record_batch(batch, docs, keep_text=self.keep_text,
                                        pipeline_name=info["name"],
                                        pipeline_version=info["version"],
                                        extensions=self._extensions, extension_values=values)
            tensor_rows = None
            if rows.num_rows and self.tensors != "none":
                tensor_rows = docs_to_tensor_batch([r.doc_id for r in batch], docs,
                                                   self.tensors, self.tensor_dtype, pieces)
            self._stages.add("annotate", annotated - start)
            self._stages.add("arrow", time.perf_counter() - annotated)
            n_tokens = sum(d.length for d in docs)
            n_docs = len(docs)
            del docs, pieces
        n_chars = sum(r.n_chars for r in batch)
        seconds = time.perf_counter() - start
        self._docs.inc(n_docs)
        self._tokens.inc(n_tokens)
        self._chars.inc(n_chars)
        self._latency.update(int(seconds * 1000))
        self._batch_docs.update(len(batch))
        note_peak_rss(PEAK_RSS_NAMESPACE)
        if self.gpu_id >= 0:
            note_peak_gpu(PEAK_GPU_NAMESPACE, self.gpu_id)
            for name, items in tuned_batch_items(self._pipeline.nlp).items():
                note_value(BATCH_ITEMS_NAMESPACE, items, name)
        yield from outputs
        if rows.num_rows:
            yield rows
            if tensor_rows is not None:
                yield beam.pvalue.TaggedOutput(self.TENSORS, tensor_rows)
        yield beam.pvalue.TaggedOutput(self.STATS, (n_docs, n_tokens, n_chars, seconds))

    def _letter(self, record: Record, error_type: str, message: str):
        text = record.text if record.doc_data is None else record.doc_data["text"]
        return beam.pvalue.TaggedOutput(self.DEAD, DeadLetter(
            record.source, record.line, record.offset, record.doc_id, error_type, message,
            raw_text(text), record.n_bytes))
