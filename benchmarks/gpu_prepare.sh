#!/usr/bin/env bash
# Prepares, on this (CPU) machine, the ignored folders that a call of the device tool
# carries to a GPU machine for benchmarks/gpu_run.sh (see its header and
# benchmarks/README.md, "GPU checks"):
#
#   bash benchmarks/gpu_prepare.sh        # about 2 minutes on 2 cores; then
#   run(command="GPU_STEPS=... bash benchmarks/gpu_run.sh", carry=[".whl", ".gpu"])
#
#   .whl/         wheels of nlp_core's dependencies that the device image lacks (thinc and
#                 its own, for the image's Python 3.12)
#   .gpu/native/  the Cython extensions built from this working tree with Python 3.12 and
#                 stripped (about 2 MB; gpu_run.sh copies them into native/ there)
#   .gpu/data/    UD English EWT train gzipped (../shared/data does not travel)
#
# Both folders go into .git/info/exclude, so they are never committed. PY312 names the
# Python 3.12 to build with (default: the first python3.12 that runs, on the PATH or under ~/.pyenv). The device image's
# numpy is 2.5.2 (KINDS.md of the device tool); the extensions are built against it.
set -euo pipefail
cd "$(dirname "$0")/.."
is_312() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; }
if [ -z "${PY312:-}" ]; then  # the first that runs as 3.12 (a pyenv shim may not)
    for candidate in python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12; do
        if is_312 "$candidate"; then PY312="$candidate"; break; fi
    done
fi
if [ -z "${PY312:-}" ] || ! is_312 "$PY312"; then
    echo "gpu_prepare.sh: no Python 3.12 found; set PY312 to one" >&2
    exit 2
fi
for entry in /.whl/ /.gpu/; do
    grep -qxF "$entry" .git/info/exclude 2>/dev/null || echo "$entry" >> .git/info/exclude
done
WHEELS=(thinc==9.1.1 confection==0.1.5 catalogue==2.0.10 srsly==2.5.6 blis==1.0.2
        cymem==2.0.16 murmurhash==1.0.16 preshed==3.0.15 wasabi==1.1.3 pydantic==2.13.4
        pydantic_core==2.46.4 annotated-types==0.7.0 typing-inspection==0.4.2
        zstandard==0.25.0)
venv="$(mktemp -d)/py312"
build="$(mktemp -d)/tree"
trap 'rm -rf "$(dirname "$venv")" "$(dirname "$build")"' EXIT
"$PY312" -m venv "$venv"
"$venv/bin/pip" install -q numpy==2.5.2 cython setuptools packaging typing-extensions
rm -rf .whl && mkdir -p .whl
"$venv/bin/pip" download -q --only-binary=:all: --no-deps --python-version 3.12 \
    --implementation cp --abi cp312 --abi none --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --platform any \
    -d .whl "${WHEELS[@]}"
"$venv/bin/pip" install -q --no-index --no-deps .whl/*.whl  # blis's headers for the build
mkdir -p "$build"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$build"  # the working tree as it is
(cd "$build" && "$venv/bin/python" setup.py -q build_ext --inplace -j "$(nproc)" >/dev/null)
rm -rf .gpu/native && mkdir -p .gpu/native
target="$PWD/.gpu/native"
(cd "$build/native" && find . -name "*.cpython-312-*.so" | while read -r so; do
    mkdir -p "$target/$(dirname "$so")"
    strip -s -o "$target/$so" "$so"
done)
train=../shared/data/ud_english_ewt/en_ewt-ud-train.conllu
rm -rf .gpu/data && mkdir -p .gpu/data/ud_english_ewt
gzip -9 -c "$train" > .gpu/data/ud_english_ewt/en_ewt-ud-train.conllu.gz
tracked=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
extra=$(du -sb .whl .gpu | awk '{s += $1} END {print s}')
echo "extensions: $(find .gpu/native -name '*.so' | wc -l); travels: tracked $((tracked >> 20)) MiB" \
     "+ .whl/.gpu $((extra >> 20)) MiB (limit 64 MiB, untracked files not ignored add to it)"
if [ $((tracked + extra)) -gt $((64 << 20)) ]; then
    echo "gpu_prepare.sh: over the 64 MiB a device call carries" >&2
    exit 1
fi
