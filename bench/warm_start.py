"""Compile once per machine: two `engine serve --warmup` starts on one data dir.

Each start launches `dgx-pixels engine serve --compile-mode MODE --warmup SHAPE` as its own
process (same python and PYTHONPATH as this one) with one `DGXP_DATA_DIR`, and measures:

    start_s         launch -> the server answers (the warm-up, compile included, runs
                    before it listens)
    first_prompt_s  one prompt of SHAPE, `--steps` steps, submitted right after: at full
                    speed it costs what a later prompt costs
    second_prompt_s the same prompt again (new seed): the full-speed reference

The first start compiles and fills DATA_DIR/engine/compile-cache; the second reads it.
Target (issue 14): the second start reaches full speed (start_s, and first_prompt_s close
to second_prompt_s) in <= 30 s.

    python bench/warm_start.py --models DIR [--shape 1024x1024] [--compile-mode default]

Writes `bench/baselines/warm_start-<device>.json` (or `--out`).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baseline import add_note_argument, device_slug, machine, write_baseline

from engine.warmup import parse_warmup_shapes, warmup_graph

__all__ = ["TARGET_S", "main"]

log = logging.getLogger("warm_start")
HERE = Path(__file__).resolve().parent
TARGET_S = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prompt(url: str, checkpoint: str, shape: str, steps: int, seed: int) -> float:
    """Seconds from POST /prompt to its history entry (a one-step warm-up graph, `steps`)."""
    (parsed,) = parse_warmup_shapes(shape)
    graph = warmup_graph(checkpoint, parsed)
    graph["sample"]["inputs"].update(steps=steps, seed=seed)
    graph["save"] = {
        "class_type": "PreviewImage",
        "inputs": {"images": ["decode", 0]},
    }
    began = time.perf_counter()
    answer = requests.post(f"{url}/prompt", json={"prompt": graph}, timeout=60)
    answer.raise_for_status()
    prompt_id = answer.json()["prompt_id"]
    while True:
        entry = requests.get(f"{url}/history/{prompt_id}", timeout=60).json().get(prompt_id)
        if entry is not None:
            if not entry["status"]["completed"]:
                raise SystemExit(f"prompt failed: {entry['status']['messages'][-1]}")
            return round(time.perf_counter() - began, 3)
        time.sleep(0.05)


def _start(args: argparse.Namespace, data: Path, log_path: Path) -> dict[str, Any]:
    """One `engine serve` start: its start time and two prompts; stopped afterwards."""
    port = _free_port()
    command = [sys.executable, "-c", "from orchestrator.adapters.cli.app import main; main()"]
    command += ["engine", "serve", "--port", str(port), "--models", str(args.models)]
    command += ["--compile-mode", args.compile_mode, "--warmup", args.shape]
    command += ["--warmup-checkpoint", args.checkpoint] if args.checkpoint else []
    env = {**os.environ, "DGXP_DATA_DIR": str(data)}
    url = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    with log_path.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            while process.poll() is None:
                try:
                    if requests.get(f"{url}/system_stats", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    time.sleep(0.2)
            if process.poll() is not None:
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
                raise SystemExit(f"engine serve exited {process.returncode}:\n{tail}")
            start_s = round(time.perf_counter() - began, 3)
            checkpoint = args.checkpoint or _only_checkpoint(args.models)
            first = _prompt(url, checkpoint, args.shape, args.steps, seed=1)
            second = _prompt(url, checkpoint, args.shape, args.steps, seed=2)
        finally:
            process.terminate()
            process.wait(60)
    return {"start_s": start_s, "first_prompt_s": first, "second_prompt_s": second}


def _only_checkpoint(models: Path) -> str:
    (name,) = [p.name for p in (models / "checkpoints").glob("*.safetensors")]
    return name


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Two starts on one data dir; writes and returns the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, required=True, help="models/ with checkpoints/.")
    ap.add_argument("--checkpoint", help="Checkpoint file name (default: the only one).")
    ap.add_argument("--shape", default="1024x1024", help="Warm-up shape WxH[xB] (1024x1024).")
    ap.add_argument("--steps", type=int, default=30, help="Steps of the timed prompts (30).")
    ap.add_argument("--compile-mode", default="default", help="torch.compile mode (default).")
    ap.add_argument("--data", type=Path, help="Data dir shared by both starts (a temp dir).")
    ap.add_argument("--out", type=Path, help="Result JSON (default baselines/warm_start-*).")
    add_note_argument(ap)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    data = args.data or Path(tempfile.mkdtemp(prefix="dgxp-warm-"))
    load_before = os.getloadavg()
    starts = []
    for n in (1, 2):
        result = _start(args, data, data.parent / f"{data.name}-serve-{n}.log")
        log.info("start %d: %s", n, result)
        starts.append(result)
    report = {
        "benchmark": "warm_start",
        "device": device_slug(),
        "shape": args.shape,
        "steps": args.steps,
        "compile_mode": args.compile_mode,
        "target_second_start_s": TARGET_S,
        "first_start": starts[0],
        "second_start": starts[1],
        "cache_dir": str(data / "engine" / "compile-cache"),
        "machine": machine(load_before, args.note),
    }
    write_baseline(args.out or HERE / "baselines" / f"warm_start-{report['device']}.json", report)
    return report


if __name__ == "__main__":
    main()
