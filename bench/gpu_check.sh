#!/usr/bin/env bash
# GPU check of the embedded engine in one command, for a CUDA box with no `pip install -e .`
# (the code runs from this checkout with PYTHONPATH=$PWD and python3).
#
#   bench/gpu_check.sh            # tests + eager: (a) GPU tests, (b) full-size random SDXL,
#                                 #   (c) repro/run.sh at real size, eager         (~3-4 min)
#   bench/gpu_check.sh compile    # (b) + repro/run.sh with DGXP_ENGINE_COMPILE=default
#                                 #   (first job compiles the UNet ~2 min)         (~4-5 min)
#   bench/gpu_check.sh all        # everything in one go (~8-9 min on an H200: tight)
#   bench/gpu_check.sh e2e        # (b) + bench/e2e.py --full-size: generate jobs end to end,
#                                 #   stage by stage, in-process engine and `engine serve`,
#                                 #   batch 1 and 8 (JOBS each, default 5)          (~5-7 min)
#   bench/gpu_check.sh speed      # bench/throughput.py: the engine beside plain diffusers in
#                                 #   one process, sections in this order: eager, compiled,
#                                 #   few-step lcm/sgm_uniform, levers one by one, VAE, fp8 vs
#                                 #   bf16; each written as it ends; one that would end past
#                                 #   SPEED_BUDGET s (440) is skipped and says so (402 s on an
#                                 #   H100, fp8 skipped); SPEED_ARGS="--sections fp8" measures
#                                 #   fp8 alone                              (~7 min; fp8 ~2.5)
#   bench/gpu_check.sh load       # (b) + bench/checkpoint_load.py: the checkpoint's load
#                                 #   steps from a warm page cache (3 loads)          (~1 min)
#   bench/gpu_check.sh pixelnode  # bench/pixelize_node.py: the pixelize node on 1024² IMAGE
#                                 #   tensors, conversion vs algorithm (CPU only)      (~20 s)
#   bench/gpu_check.sh warmstart  # (b) + bench/warm_start.py: two `engine serve --compile
#                                 #   --warmup WARM_SHAPE` starts on one data dir (the second
#                                 #   reads the compile caches)                      (~3-4 min)
#   bench/gpu_check.sh tests|model|eager   # one part; several may be given (`eager compile`)
#
# Issue 14 in two device calls of <= 9.5 min: (1) `speed` (Deliver 2 and 4: ratios to
# diffusers, levers, few-step); (2) `tests e2e`, then SPEED_ARGS="--sections fp8" `speed`
# (GPU tests, Deliver 1's user path, Deliver 5's fp8). `load`, `pixelnode` and `warmstart`
# (Deliver 1 and 3) need a third call when they are wanted as well.
#
# Results: $OUT/throughput-<gpu>.json (`speed`), $OUT/latest-eager.json and $OUT/latest-compile.json (copies of
# bench/baselines/latest.json after each run), $OUT/e2e-<gpu>.json (bench/e2e.py's
# baseline, also left in bench/baselines/), $OUT/gpu-tests.txt and every step's full log
# $OUT/gpu-check-<step>.log ($OUT defaults to $GPU_CHECK_DIR/out). The ~7 GB checkpoint is
# written once into $GPU_CHECK_DIR/models (default /tmp/dgxp-gpu-check) and reused by a later
# call on the same machine. A failing step is reported and the next steps still run; the exit
# status is non-zero if any step failed.
#
# Environment: PYTHON (python3), GPU_CHECK_DIR, COUNT (10), STEPS (30), SIZE (1024), OUT, JOBS (5),
# FULL_SIZE (1; 0 = the small demo model, for a dry run on a CPU:
#   PYTHON=.venv/bin/python FULL_SIZE=0 SIZE=128 STEPS=2 COUNT=2 bench/gpu_check.sh all).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
export PYTHON=${PYTHON:-python3}
work=${GPU_CHECK_DIR:-${TMPDIR:-/tmp}/dgxp-gpu-check}
models="$work/models"
results=${OUT:-$work/out}
# FULL_SIZE=0 uses the small demo model instead (a quick dry run of this script on a CPU).
if [ "${FULL_SIZE:-1}" = 0 ]; then
    checkpoint=DEMO-random-weights-sdxl.safetensors demo_args=()
else
    checkpoint=DEMO-random-weights-sdxl-fullsize.safetensors demo_args=(--full-size)
fi
# Inductor's compiled kernels survive between calls on a warm machine.
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-$work/inductor-cache}
mkdir -p "$models" "$results"
failed=()
# repro/run.sh rewrites the committed bench/baselines/latest.json; the copies in $results
# are what this script reports, so the checkout is put back as it was on exit.
baseline=bench/baselines/latest.json
if [ -f "$baseline" ]; then
    cp "$baseline" "$work/latest.json.orig"
    trap 'cp "$work/latest.json.orig" "$baseline"' EXIT
fi

cli() { "$PYTHON" -c "from orchestrator.adapters.cli.app import main; main()" "$@"; }

# run_step NAME CMD...: the command's output goes to $results/gpu-check-NAME.log; a failure
# prints the log's tail and is remembered, and the script goes on.
run_step() {
    local name=$1 log="$results/gpu-check-$1.log" start=$SECONDS
    shift
    echo "== $name ($(date -u +%H:%M:%S))"
    if "$@" >"$log" 2>&1; then
        echo "   ok in $((SECONDS - start)) s (log: $log)"
    else
        echo "   FAILED (exit $?) after $((SECONDS - start)) s; last lines of $log:"
        tail -n 25 "$log" | sed 's/^/   | /'
        failed+=("$name")
    fi
}

gpu_tests() {
    # addopts is emptied: it deselects `gpu` and passes --timeout, which needs pytest-timeout
    # (maybe missing here; the tests bound their own waits). `-W default` after the ini's
    # `error`: a new library warning on this machine is shown rather than failing a GPU test
    # (CI keeps warnings as errors).
    local opts=(-o addopts= --strict-markers -m gpu -W default -q -rs --durations=8)
    opts+=(-p no:cacheprovider)
    "$PYTHON" -m pytest "${opts[@]}" tests/engine/gpu | tee "$results/gpu-tests.txt"
}

write_model() {
    DGXP_MODELS_DIR="$models" cli models demo "${demo_args[@]}"
    ls -l "$models/checkpoints/$checkpoint"
}

# repro MODE: repro/run.sh on the full-size checkpoint with DGXP_ENGINE_COMPILE=MODE.
repro() {
    local mode=$1 name=$2
    [ -f "$models/checkpoints/$checkpoint" ] || write_model
    DGXP_MODELS_DIR="$models" CHECKPOINT=$checkpoint DGXP_ENGINE_COMPILE="$mode" \
        COUNT=${COUNT:-10} STEPS=${STEPS:-30} SIZE=${SIZE:-1024} bash repro/run.sh || return 1
    cp "$baseline" "$results/$name"
}

# e2e: bench/e2e.py on the full-size checkpoint, both deployments, batch 1 and 8.
e2e() {
    [ -f "$models/checkpoints/$checkpoint" ] || write_model
    local size_args=(--full-size)
    [ "${FULL_SIZE:-1}" = 0 ] && size_args=(--tiny)
    "$PYTHON" bench/e2e.py "${size_args[@]}" --models "$models" --batch 1 8 \
        --jobs "${JOBS:-5}" ${STEPS:+--steps "$STEPS"} ${SIZE:+--size "$SIZE"} \
        ${E2E_ARGS:-} || return 1  # E2E_ARGS=--save-raw also times the raw render
    cp "$(ls -t bench/baselines/e2e-*.json | head -n 1)" "$results/"
}

# load / pixelnode / warmstart: issue 14's checkpoint load, pixelize node and second start.
load() {
    [ -f "$models/checkpoints/$checkpoint" ] || write_model
    "$PYTHON" bench/checkpoint_load.py --checkpoint "$models/checkpoints/$checkpoint" \
        --out "$results/checkpoint_load.json"
}

pixelnode() {
    "$PYTHON" bench/pixelize_node.py --runs "${PIXEL_RUNS:-7}" --out "$results/pixelize_node.json"
}

warmstart() {
    [ -f "$models/checkpoints/$checkpoint" ] || write_model
    local mode=default
    [ "${FULL_SIZE:-1}" = 0 ] && mode=off  # no compile on a CPU dry run
    "$PYTHON" bench/warm_start.py --models "$models" --shape "${WARM_SHAPE:-1024x1024}" \
        --steps "${STEPS:-30}" --compile-mode "$mode" --data "$work/warm-data" \
        --out "$results/warm_start.json"
}

# speed: bench/throughput.py, its JSON copied to $results after every section.
speed() {
    local size_args=()
    [ "${FULL_SIZE:-1}" = 0 ] && size_args=(--tiny)
    "$PYTHON" bench/throughput.py "${size_args[@]}" --budget-s "${SPEED_BUDGET:-440}" \
        --copy-to "$results" ${SPEED_ARGS:-}
}

summary() {
    local name
    for name in latest-eager.json latest-compile.json; do
        [ -f "$results/$name" ] || continue
        "$PYTHON" -c "import json, sys; d = json.load(open(sys.argv[1])); \
keys = ('exit_code', 'images', 'wall_s', 'images_per_s', 'latency_s', 'peak_gpu_memory_mib'); \
print(sys.argv[2], {k: d.get(k) for k in keys})" "$results/$name" "$name"
    done
    for name in "$results"/throughput-*.json; do
        [ -f "$name" ] || continue
        "$PYTHON" bench/throughput_summary.py "$name"
    done
    for name in "$results"/e2e-*.json; do
        [ -f "$name" ] || continue
        "$PYTHON" -c "import json, sys; d = json.load(open(sys.argv[1])); \
keys = ('mode', 'batch', 'first_job_s', 'e2e_median_s', 'engine_prompt_median_s', 'e2e_over_engine', \
'back_to_back'); \
[print('e2e', {k: r[k] for k in keys}) for r in d['runs']]" "$name"
    done
}

[ $# -eq 0 ] && set -- default
echo "gpu_check: $*, python $($PYTHON -V 2>&1), results in $results"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
steps=()
for what in "$@"; do
    case $what in
    default) steps+=(tests model eager) ;;
    all) steps+=(tests model eager compile) ;;
    compile) steps+=(model compile) ;;
    tests | model | eager | e2e | load | pixelnode | warmstart | speed) steps+=("$what") ;;
    *)
        echo "unknown step '$what'; use: default, all, tests, model, eager, compile, e2e, load, pixelnode, warmstart, speed" >&2
        exit 2
        ;;
    esac
done
for step in "${steps[@]}"; do
    case $step in
    tests) run_step tests gpu_tests ;;
    model) run_step model write_model ;;
    eager) run_step eager repro off latest-eager.json ;;
    compile) run_step compile repro default latest-compile.json ;;
    e2e) run_step e2e e2e ;;
    load) run_step load load ;;
    pixelnode) run_step pixelnode pixelnode ;;
    warmstart) run_step warmstart warmstart ;;
    speed) run_step speed speed ;;
    esac
done
summary
if [ ${#failed[@]} -gt 0 ]; then
    echo "gpu_check: FAILED steps: ${failed[*]}"
    exit 1
fi
echo "gpu_check: all steps passed"
