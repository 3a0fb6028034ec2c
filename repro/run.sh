#!/usr/bin/env bash
# Reproducibility smoke test (milestone M0): capture the environment, generate 10 sprites
# end to end through the CLI, and write bench/baselines/latest.json (img/s, latency, peak
# memory) with the environment inside.
#
#   repro/run.sh                                   # demo model (random weights) unless...
#   CHECKPOINT=sd_xl_base_1.0.safetensors repro/run.sh   # a real SDXL file in $DGXP_MODELS_DIR/checkpoints
#
# Environment: PYTHON (default .venv/bin/python, else python3), DGXP_DATA_DIR (default a
# fresh temp dir, so earlier jobs never mix in), DGXP_MODELS_DIR, CHECKPOINT, STEPS (20),
# SIZE (1024), COUNT (10), BACKEND (a ComfyUI URL; default: the embedded engine).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
export DGXP_DATA_DIR=${DGXP_DATA_DIR:-$(mktemp -d -t dgxp-repro-XXXXXX)}
export DGXP_MODELS_DIR=${DGXP_MODELS_DIR:-$DGXP_DATA_DIR/models}
count=${COUNT:-10}
steps=${STEPS:-20}
size=${SIZE:-1024}
out="$DGXP_DATA_DIR/repro-outputs"
envfile="$DGXP_DATA_DIR/environment.json"

echo "== 1. environment -> $envfile"
"$python" repro/report.py env >"$envfile"
cat "$envfile"

echo "== 2. model"
if [ -z "${CHECKPOINT:-}" ]; then
    "$python" -c "from orchestrator.adapters.cli.app import main; main()" models demo
    CHECKPOINT=$("$python" -c "from engine.demo_model import DEMO_FILENAME; print(DEMO_FILENAME)")
    echo "   using the DEMO model (random weights): timings are real, pictures are noise"
fi

echo "== 3. generate $count sprites (${size}², $steps steps, checkpoint $CHECKPOINT)"
backend_args=()
[ -n "${BACKEND:-}" ] && backend_args=(--backend "$BACKEND")
"$python" repro/report.py run --out bench/baselines/latest.json --env "$envfile" -- \
    "$python" -c "from orchestrator.adapters.cli.app import main; main()" generate \
    "a red health potion, pixel art" -n "$count" --seed 0 --steps "$steps" \
    -p "checkpoint=$CHECKPOINT" -p "width=$size" -p "height=$size" --out "$out" \
    "${backend_args[@]}"

echo "== done: bench/baselines/latest.json; sprites in $out"
