#!/usr/bin/env bash
# Writes a CycloneDX SBOM (JSON, spec 1.6) of an installed Python environment with
# cyclonedx-bom (`cyclonedx-py`, a dev dependency: `bash scripts/setup.sh` installs it).
#
#   scripts/sbom.sh [PYTHON] [OUT]
#
# PYTHON: the environment's interpreter (default .venv/bin/python; in an image, its python).
# OUT: the SBOM file (default sbom/dgx-pixels.cdx.json; generated, not committed).
# The root component is this project (pyproject.toml); every installed distribution is a
# component with its version, licence and purl. cyclonedx-py validates the BOM against the
# CycloneDX schema before writing it, and exits non-zero if it is invalid.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${1:-.venv/bin/python}
OUT=${2:-sbom/dgx-pixels.cdx.json}
CYCLONEDX=${CYCLONEDX_PY:-.venv/bin/cyclonedx-py}
if [ ! -x "$CYCLONEDX" ]; then
    echo "sbom: $CYCLONEDX not found: run scripts/setup.sh (cyclonedx-bom is a dev dependency)" >&2
    exit 2
fi
if ! "$PYTHON" -c 'import sys' 2>/dev/null; then
    echo "sbom: PYTHON=$PYTHON is not a working Python interpreter; pass the environment's python" >&2
    exit 2
fi
mkdir -p "$(dirname "$OUT")"
"$CYCLONEDX" environment --pyproject pyproject.toml --spec-version 1.6 --output-format JSON \
    --validate --output-reproducible -o "$OUT" "$PYTHON"
echo "SBOM written: $OUT" >&2
