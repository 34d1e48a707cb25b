#!/usr/bin/env bash
# All GPU checks in one call, for a machine with a CUDA GPU and cupy (about 5 minutes):
#
#   bash benchmarks/gpu_run.sh          # results: stdout and $OUT/*.jsonl, $OUT/*.json
#
#   1. gpu_parser_check.py annotate   en_ewt_sm on GPU vs CPU: same annotations, words/s
#   2. gpu_parser_check.py train      parser training steps/s on GPU, cut 100 vs 0
#      gpu_parser_check.py cli_train  `nlp_core train --gpu-id 0`, evaluated on the CPU
#      gpu_parser_check.py beam_gpu   the README's Beam annotate command with --gpu vs CPU
#   3. gpu_check.sh                   the transformer on GPU (parity, training, speed)
#   4. gpu_new_paths_check.py         only when asked (GPU_STEPS=new_paths, ~1-2 minutes):
#                                     Vectors on cupy, `pretrain --gpu-id 0`, `distill
#                                     --gpu-id 0` (see its docstring)
#   5. gpu_trf_job.py                 only when asked (GPU_STEPS=trf_job, ~3-5 minutes): the
#                                     annotate job with en_ewt_trf's pipeline (random encoder
#                                     weights) on the GPU vs a raw HF fp16 forward, and
#                                     max_batch_items "auto" vs set by hand (issue 20, item 5)
#
# Where the machine lacks nlp_core's dependencies or cannot build the extensions, a session
# brings them along, ignored by git (benchmarks/gpu_prepare.sh makes them here; see
# benchmarks/README.md, "GPU checks"):
#   .whl/          wheels of the missing packages (installed into /tmp/site)
#   .gpu/native/   the Cython extensions built for the machine's Python (copied into native/)
#   .gpu/data/     the corpora of ../shared/data gzipped (.gpu/data/ud_english_ewt/*.gz, ...),
#                  when ../shared/data is not beside the checkout
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/gpu_check}"
export OUT
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if ! command -v python >/dev/null; then  # the scripts call `python`
    mkdir -p /tmp/bin && ln -sf "$(command -v python3)" /tmp/bin/python
    export PATH="/tmp/bin:$PATH"
fi
if [ -d .whl ]; then
    python -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
[ -d .gpu/native ] && cp -r .gpu/native/. native/
python -c "import native.parser.batch" 2>/dev/null || python setup.py -q build_ext --inplace -j 8
if [ ! -d ../shared/data/ud_english_ewt ] && [ -d .gpu/data ]; then
    for f in .gpu/data/*/*.gz; do  # .gpu/data/<corpus dir>/<file>.gz
        dir="../shared/data/$(basename "$(dirname "$f")")"
        mkdir -p "$dir" && gunzip -c "$f" > "$dir/$(basename "$f" .gz)"
    done
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/nvidia_smi.txt"
python -c "import sys, numpy, thinc, torch; print(sys.version.split()[0], 'numpy', numpy.__version__, 'thinc', thinc.__version__, 'torch', torch.__version__)"
python -c "import cupy; print('cupy', cupy.__version__)" 2>&1
# GPU_STEPS picks steps (default: annotate train cli_train beam_gpu transformer; new_paths
# and trf_job only when named; GPU_TRF_DOCS sets trf_job's corpus, default 16000;
# GPU_TRF_ARGS adds its options, e.g. "--runs mixed_32768,hf_fp16 --profile auto_mixed")
steps=" ${GPU_STEPS:-annotate train cli_train beam_gpu transformer} "
status=0
for step in annotate train cli_train beam_gpu transformer new_paths trf_job; do
    [[ "$steps" == *" $step "* ]] || continue
    case $step in
        annotate) timeout 120 python benchmarks/gpu_parser_check.py annotate ;;
        train) timeout 200 python benchmarks/gpu_parser_check.py train \
                   --steps "${GPU_TRAIN_STEPS:-20}" ;;
        cli_train) timeout 150 python benchmarks/gpu_parser_check.py cli_train ;;
        beam_gpu) timeout 200 python benchmarks/gpu_parser_check.py beam_gpu ;;
        transformer) timeout 200 bash benchmarks/gpu_check.sh ;;
        new_paths) timeout 230 python benchmarks/gpu_new_paths_check.py ;;
        trf_job) timeout "${GPU_TRF_TIMEOUT:-420}" python benchmarks/gpu_trf_job.py \
                     --docs "${GPU_TRF_DOCS:-16000}" --json "$OUT/gpu_trf_job.json" \
                     ${GPU_TRF_ARGS:-} ;;
    esac || status=1
done
exit $status
