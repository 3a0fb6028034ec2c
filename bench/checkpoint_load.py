"""Checkpoint load time, step by step, from a warm page cache.

Loads one single-file SDXL checkpoint with the engine's loader (`load_checkpoint`: tensors
read straight onto the device, modules built on the meta device and assigned without a
copy) `--repeat` times; the first read warms the page cache (after writing the demo file it
usually is warm already), the later ones are what a new process pays. Reports each load's
steps (header, read, build, names), its total, and the CUDA memory it holds. Target
(issue 14): <= 5 s from a warm page cache.

    python bench/checkpoint_load.py --checkpoint MODELS/checkpoints/X.safetensors

Writes `bench/baselines/checkpoint_load-<device>.json` (or `--out`).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baseline import add_note_argument, device_slug, machine, write_baseline

__all__ = ["TARGET_S", "main"]

log = logging.getLogger("checkpoint_load")
HERE = Path(__file__).resolve().parent
TARGET_S = 5.0


def _one_load(path: Path, device: str) -> dict[str, Any]:
    import torch

    from engine.models.checkpoint import load_checkpoint
    from engine.models.device import select_device

    choice = select_device(device, "auto")
    began = time.perf_counter()
    loaded = load_checkpoint(path, str(choice.device), choice.dtype, choice.vae_dtype)
    total = time.perf_counter() - began
    held = torch.cuda.memory_allocated() if device == "cuda" else 0
    result = {
        "total_s": round(total, 3),
        **{f"{k}_s": round(v, 3) for k, v in loaded.load_seconds.items()},
        "dtype": str(choice.dtype).removeprefix("torch."),
        "cuda_allocated_gib": round(held / 2**30, 2),
    }
    del loaded
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Load the checkpoint `--repeat` times and write the baseline JSON; returns it."""
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, required=True, help="The .safetensors file.")
    ap.add_argument("--repeat", type=int, default=3, help="Loads (3); the first warms up.")
    ap.add_argument("--cpu", action="store_true", help="Load onto the CPU even with CUDA.")
    ap.add_argument("--out", type=Path, help="Result JSON (default baselines/checkpoint_load-*).")
    add_note_argument(ap)
    args = ap.parse_args(argv)
    if args.repeat < 1 or not args.checkpoint.is_file():
        ap.error(f"--repeat {args.repeat} must be >= 1 and --checkpoint {args.checkpoint} a file")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    device = "cpu" if args.cpu or not torch.cuda.is_available() else "cuda"
    load_before = os.getloadavg()
    loads = [_one_load(args.checkpoint, device) for _ in range(args.repeat)]
    warm = loads[1:] or loads
    report = {
        "benchmark": "checkpoint_load",
        "device": "cpu" if device == "cpu" else device_slug(),
        "checkpoint": args.checkpoint.name,
        "file_gib": round(args.checkpoint.stat().st_size / 2**30, 2),
        "target_warm_s": TARGET_S,
        "warm_median_s": round(statistics.median(x["total_s"] for x in warm), 3),
        "loads": loads,
        "machine": machine(load_before, args.note, torch=torch.__version__),
    }
    name = f"checkpoint_load-{report['device']}.json"
    write_baseline(args.out or HERE / "baselines" / name, report)
    log.info("warm load median %.2f s (target %.1f): %s", report["warm_median_s"], TARGET_S, loads)
    return report


if __name__ == "__main__":
    main()
