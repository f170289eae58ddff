#!/usr/bin/env bash
# The CUDA check: on a machine with an NVIDIA GPU, runs the tests marked `cuda`, the samplers'
# speed and the training iteration on the GPU, and writes one JSON (benchmarks/gpu_check.py).
# Within 10 minutes; docs/benchmarks.md#the-cuda-check says what it measures.
#
# A GPU machine may be offline and hold its own torch. It keeps its torch, and the packages in
# benchmarks/gpu_requirements.txt travel as wheels, downloaded beforehand on a machine with
# network into .whl/ in the repository root (for the GPU machine's Python, here 3.12):
#
#   bash benchmarks/gpu_check.sh download 3.12
#
# then, on the GPU machine, in the repository root:
#
#   bash benchmarks/gpu_check.sh run OUT_DIR     # writes OUT_DIR/gpu_check.json
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-run}" in
download)
    python3 -m pip download --no-deps --only-binary=:all: --implementation cp \
        --python-version "${2:-3.12}" --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl -r benchmarks/gpu_requirements.txt
    ;;
run)
    out="${2:-gpu_check}"
    mkdir -p "$out"
    if [ -d .whl ]; then  # beside the machine's own packages, which stay as they are
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/qaaan-site .whl/*.whl
        export PYTHONPATH="/tmp/qaaan-site:${PYTHONPATH:-}"
    fi
    export PYTHONPATH="$PWD/src:$PWD/benchmarks:$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
    timeout 580 python3 benchmarks/gpu_check.py --out "$out/gpu_check.json"
    ;;
*)
    echo "usage: bash benchmarks/gpu_check.sh download [PYTHON_VERSION] | run [OUT_DIR]" >&2
    exit 2
    ;;
esac
