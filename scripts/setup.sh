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
# The docker/ tests call the real tools: promtool and prometheus (Debian's prometheus)
# and docker-compose; the `train eval` report test opens report.html in headless chromium.
# As root they are installed here; otherwise the missing ones are named and their tests
# fail (never skip) until someone installs them.
missing=()
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        # policy-rc.d 101: the package must not start a prometheus service of its own
        no_start=/usr/sbin/policy-rc.d
        [ -e "$no_start" ] || { printf '#!/bin/sh\nexit 101\n' >"$no_start" && chmod +x "$no_start" && trap 'rm -f "$no_start"' EXIT; }
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: the docker/ and report tests need ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}' (they fail until then)" >&2
    fi
fi
.venv/bin/python -c 'import torch, diffusers, comfy_nodes, orchestrator' \
    || { echo "setup failed: the venv cannot import the project" >&2; exit 1; }
echo "DGX-Pixels is installed in .venv (try: .venv/bin/dgx-pixels --help)"
