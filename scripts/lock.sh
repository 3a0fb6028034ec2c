#!/usr/bin/env bash
# Regenerates docker/requirements.lock: every runtime dependency of the container images
# (scripts/runtime_requirements.py: pyproject's base dependencies plus the engine, daemon
# and mcp extras), pinned, with the sha256 of EVERY file PyPI has for that version, so the
# same lock installs on the GB10 (arm64, the NVIDIA base image's Python) as on x86_64.
#
# Why pip-compile and not `pip lock`: this pip has `pip lock` (PEP 751 pylock.toml), but it
# records only the one wheel it picked for THIS machine (x86_64, CPython 3.11), with this
# machine's index URLs, so its lock cannot install in the arm64 image.
#
# torch is resolved (torchsde needs it) but not pinned: it comes from the image's base (CUDA
# build) or from setup.sh (CPU build). Resolving against the installed CPU torch keeps
# pip-compile from downloading PyPI's CUDA wheels (gigabytes) just to read their metadata.
# Takes minutes; run it after changing the runtime dependencies in pyproject.toml
# (tests/docker/test_lock.py tells you when).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=.venv-lock
if [ ! -x "$TOOLS/bin/pip-compile" ]; then
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install -q "pip-tools==7.7.0"
fi
TORCH=$(.venv/bin/python -c 'import torch; print(torch.__version__)')
{ .venv/bin/python scripts/runtime_requirements.py; echo "torch==$TORCH"; } \
    | "$TOOLS/bin/pip-compile" --quiet --generate-hashes --strip-extras \
        --unsafe-package torch --unsafe-package setuptools --unsafe-package pip \
        --no-emit-index-url --no-emit-find-links \
        --custom-compile-command "bash scripts/lock.sh" \
        -o docker/requirements.lock -
echo "docker/requirements.lock written" >&2
