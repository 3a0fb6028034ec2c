#!/usr/bin/env bash
# Creates .venv and installs DGX-Pixels with every extra and the dev tools.
# On a machine without an NVIDIA GPU the CPU build of torch is installed first: a bare
# `torch` requirement would otherwise pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1; then
        $PIP install -q torch 2>&1 | grep -v '^WARNING: Location' || true
    else
        $PIP install -q "torch==${DGXP_CPU_TORCH_VERSION:-2.13.0}" 2>&1 | grep -v '^WARNING: Location' || true
    fi
fi
$PIP install -q -e ".[dev]" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c 'import torch, diffusers, comfy_nodes, orchestrator' \
    || { echo "setup failed: the venv cannot import the project" >&2; exit 1; }
echo "DGX-Pixels is installed in .venv (try: .venv/bin/dgx-pixels --help)"
