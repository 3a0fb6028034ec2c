#!/usr/bin/env bash
# Create bench/.peers-venv with the PyPI peers that bench/pixel_quality.py compares against.
# They are comparisons only, never dependencies: they live in their own venv so their torch
# and torchvision never touch the project's CPU torch.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.peers-venv"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# Local package mirrors print one harmless "is ignored" line per lookup; keep real errors.
pip() { "$venv/bin/python" -m pip "$@" 2> >(grep -v "is ignored" >&2); }
pip install --quiet --upgrade pip wheel || true
pip install --quiet numpy pillow opencv-python-headless || echo "peers.sh: base packages failed" >&2
pip install --quiet unfake || echo "peers.sh: unfake failed to install" >&2
pip install --quiet perfect-pixel || echo "peers.sh: perfect-pixel failed to install" >&2
# pixeloe needs torch + torchvision; these versions come from local disk on this machine.
pip install --quiet torch==2.14.1 torchvision==0.29.1 || echo "peers.sh: torch/torchvision failed" >&2
pip install --quiet pixeloe || echo "peers.sh: pixeloe failed to install" >&2
pip freeze > "$venv/peers-freeze.txt"
echo "peers venv ready: $venv"
