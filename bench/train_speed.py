"""Embedded-trainer speed: SDXL UNet LoRA steps at 1024² on the full-size random SDXL.

Runs the real backend (`training.embedded.EmbeddedTrainer`) end to end — dataset of
generated sprites, cached latents and text, peft LoRA on kohya's target set — with the
issue's settings: rank 32, alpha 16, bf16 autocast over bf16 base weights, gradient
checkpointing, AdamW (fused; 8-bit when bitsandbytes is installed), batch 1 and 4. Each
variant is a fresh run; the first `--warmup` steps are left out of the timing, then
`--steps` steps are timed between two progress reports (each report reads the loss back,
so the GPU has finished the steps it counts). Peak VRAM is torch's peak allocation from
the first training step on (the load and the caching peak is recorded beside it).

Recorded per variant: s/step, images/s, peak VRAM (GiB), the projected 3000-step time, and
the GB10 projection by FLOP ratio (790 / 125 TFLOP/s dense bf16: H200-class measured
against GB10's spec). Variants: `eager` (default levers), `no_checkpointing` (the lever
that trades VRAM for the recomputed forward), `channels_last`, `compile` (torch.compile of
the UNet; its compile time is in the warm-up), `compile_blocks` (each transformer and ResNet
block compiled: a few shared graphs), `compile_blocks_no_checkpointing`. The JSON is rewritten
after every variant, so a crash or the time budget keeps what was done.

    python3 bench/train_speed.py                                # GPU: eager b1, b4, compile b1
    python3 bench/train_speed.py --variants eager --batches 1
    .venv/bin/python bench/train_speed.py --tiny --device cpu   # dry run: demo model, 256²

The result goes to bench/baselines/train_<device>.json (`--out` to change).
"""

from __future__ import annotations

import argparse
import gc
import logging
import platform
import re
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ helpers, also when loaded by path

from baseline import write_baseline

from engine import write_demo_checkpoint, write_fullsize_demo_checkpoint
from training.backend import TrainProgress, TrainRequest
from training.dataset import DatasetOptions, prepare_dataset
from training.embedded import EmbeddedOptions, EmbeddedTrainer
from training.spec import TrainingSpec

log = logging.getLogger("train_speed")

GB10_TFLOPS = 125.0  # GB10 dense bf16 peak (spec sheet)
H200_TFLOPS = 790.0  # H200 dense bf16, measured on the lent machines (8192³ matmul)
REFERENCE_STEPS = 3000
TARGET_S_PER_STEP = 0.45  # issue 13, H200, batch 1
TARGET_VRAM_GIB = 24.0
# name -> (trainer options, gradient checkpointing)
VARIANTS: dict[str, tuple[EmbeddedOptions, bool]] = {
    "eager": (EmbeddedOptions(report_every=1), True),
    "no_checkpointing": (EmbeddedOptions(report_every=1), False),
    "channels_last": (EmbeddedOptions(channels_last=True, report_every=1), True),
    "compile": (EmbeddedOptions(compile_unet=True, report_every=1), True),
    "compile_blocks": (EmbeddedOptions(compile_blocks=True, report_every=1), True),
    "compile_blocks_no_checkpointing": (
        EmbeddedOptions(compile_blocks=True, report_every=1),
        False,
    ),
}


@dataclass(frozen=True)
class Timing:
    """What one variant measured."""

    s_per_step: float
    peak_train_gib: float
    peak_setup_gib: float
    first_step_s: float
    setup_s: float


def _sprites(folder: Path, count: int) -> Path:
    """`count` seeded 32×32-cell, 6-colour sprites, upscaled ×4 (as users' files often are)."""
    folder.mkdir(parents=True, exist_ok=True)
    palette = np.array(
        [
            [20, 20, 40],
            [200, 60, 60],
            [240, 200, 80],
            [60, 160, 90],
            [90, 90, 200],
            [250, 250, 250],
        ],
        np.uint8,
    )
    for seed in range(count):
        rng = np.random.default_rng(seed)
        rgba = np.zeros((32, 32, 4), np.uint8)
        rgba[4:-4, 4:-4, :3] = palette[rng.integers(0, len(palette), size=(24, 24))]
        rgba[4:-4, 4:-4, 3] = 255
        big = np.repeat(np.repeat(rgba, 4, axis=0), 4, axis=1)
        Image.fromarray(big).save(folder / f"sprite{seed:02d}.png")
    return folder


def _dataset(work: Path, count: int) -> Path:
    out = work / "dataset"
    if not (out / "manifest.json").is_file():
        src = _sprites(work / "sprites", count)
        prepare_dataset(src, out, DatasetOptions(trigger="pxbench", min_images=5))
    return out


def _checkpoint(work: Path, tiny: bool, device: str) -> Path:
    models = work / "models"
    if tiny:
        return write_demo_checkpoint(models).path
    return write_fullsize_demo_checkpoint(models, device=device).path


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _gib(value: int) -> float:
    return round(value / 2**30, 2)


def measure(
    variant: str,
    batch: int,
    args: argparse.Namespace,
    dataset: Path,
    checkpoint: Path,
) -> Timing:
    """One fresh run of `warmup + steps + 1` steps; the timed window excludes the last
    step (its validation pass)."""
    total = args.warmup + args.steps + 1
    options, checkpointing = VARIANTS[variant]
    spec = TrainingSpec(
        rank=args.rank,
        alpha=args.rank / 2,
        steps=total,
        batch_size=batch,
        resolution=args.resolution,
        mixed_precision="bf16",
        gradient_checkpointing=checkpointing,
        save_every_n_steps=100_000,
        validate_every_n_steps=100_000,
    )
    work = args.work / f"run-{variant}-b{batch}"
    request = TrainRequest(
        spec, dataset, checkpoint, work, f"bench_{variant}_b{batch}", "pxbench", device=args.device
    )
    cuda = args.device.startswith("cuda")
    gc.collect()  # the previous variant's model
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    stamps: dict[int, float] = {}
    setup_peak = [0]
    began = time.perf_counter()

    def on_progress(progress: TrainProgress) -> None:
        if progress.message == "training" and cuda:  # set-up done: the loop's peak from here
            _sync(args.device)
            setup_peak[0] = torch.cuda.max_memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        if progress.message == "training":
            stamps[0] = time.perf_counter()
        elif progress.loss is not None:
            stamps[progress.step] = time.perf_counter()

    EmbeddedTrainer(options).train(request, on_progress, lambda: False)
    first, last = args.warmup, args.warmup + args.steps
    peak = torch.cuda.max_memory_allocated() if cuda else 0
    return Timing(
        s_per_step=(stamps[last] - stamps[first]) / args.steps,
        peak_train_gib=_gib(peak),
        peak_setup_gib=_gib(setup_peak[0]),
        first_step_s=stamps[1] - stamps[0],
        setup_s=stamps[0] - began,
    )


def _entry(variant: str, batch: int, timing: Timing) -> dict[str, Any]:
    return {
        "variant": variant,
        "batch": batch,
        "gradient_checkpointing": VARIANTS[variant][1],
        "s_per_step": round(timing.s_per_step, 4),
        "images_per_s": round(batch / timing.s_per_step, 3),
        "peak_vram_gib": timing.peak_train_gib,
        "peak_vram_setup_gib": timing.peak_setup_gib,
        "first_step_s": round(timing.first_step_s, 2),
        "setup_s": round(timing.setup_s, 1),
        "projected_3000_steps_min": round(timing.s_per_step * REFERENCE_STEPS / 60, 1),
        "gb10_projected_s_per_step": round(timing.s_per_step * H200_TFLOPS / GB10_TFLOPS, 3),
        "gb10_projected_3000_steps_h": round(
            timing.s_per_step * H200_TFLOPS / GB10_TFLOPS * REFERENCE_STEPS / 3600, 2
        ),
    }


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or "cpu"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "cpu"


def _report(
    args: argparse.Namespace, device_name: str, results: list[dict[str, Any]]
) -> dict[str, Any]:
    import importlib.util

    eager_b1 = next(
        (r for r in results if r.get("variant") == "eager" and r.get("batch") == 1), None
    )
    best_b1 = min(
        (r for r in results if r.get("batch") == 1 and "s_per_step" in r),
        key=lambda r: r["s_per_step"],
        default=None,
    )
    return {
        "what": "embedded trainer (diffusers + peft) SDXL UNet LoRA steps, cached latents/text",
        "model": "demo (tiny)"
        if args.tiny
        else "full-size random SDXL (write_fullsize_demo_checkpoint)",
        "device": device_name,
        "resolution": args.resolution,
        "rank": args.rank,
        "alpha": args.rank / 2,
        "precision": "bf16 autocast, bf16 base weights, float32 adapters",
        "gradient_checkpointing": "on, except in variant no_checkpointing",
        "optimizer": "AdamW8bit (bitsandbytes)"
        if importlib.util.find_spec("bitsandbytes")
        else "AdamW (torch, fused)",
        "warmup_steps": args.warmup,
        "timed_steps": args.steps,
        "gb10_projection": f"s/step x {H200_TFLOPS:g} / {GB10_TFLOPS:g} (dense bf16 TFLOP/s ratio)",
        "targets": {"s_per_step_batch1": TARGET_S_PER_STEP, "peak_vram_gib": TARGET_VRAM_GIB},
        "best_batch1": best_b1,
        "eager_batch1_meets_targets": None
        if eager_b1 is None
        else eager_b1["s_per_step"] <= TARGET_S_PER_STEP
        and eager_b1["peak_vram_gib"] <= TARGET_VRAM_GIB,
        "results": results,
        "torch": torch.__version__,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": args.note,
    }


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="Torch device (default cuda).")
    parser.add_argument("--tiny", action="store_true", help="The small demo model (CPU dry run).")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4], help="Batch sizes.")
    parser.add_argument(
        "--variants", nargs="+", default=["eager", "compile"], choices=sorted(VARIANTS),
        help="Variants, in order (each runs every batch size; compile runs batch 1 only).",
    )  # fmt: skip
    parser.add_argument("--warmup", type=int, default=3, help="Untimed first steps.")
    parser.add_argument("--steps", type=int, default=10, help="Timed steps.")
    parser.add_argument("--rank", type=int, default=32, help="LoRA rank (alpha = rank / 2).")
    parser.add_argument("--resolution", type=int, default=None, help="Default 1024 (tiny: 256).")
    parser.add_argument("--images", type=int, default=8, help="Dataset size (one held out).")
    parser.add_argument("--budget-s", type=float, default=600.0, help="Skip variants past this.")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dgxp-train-speed"))
    parser.add_argument("--out", type=Path, default=None, help="The result JSON.")
    parser.add_argument("--note", default="", help="Free text stored in the JSON.")
    args = parser.parse_args(argv)
    args.resolution = args.resolution or (256 if args.tiny else 1024)
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    began = time.perf_counter()
    device_name = _device_name(args.device)
    out = args.out or Path(__file__).parent / "baselines" / f"train_{_slug(device_name)}.json"
    args.work.mkdir(parents=True, exist_ok=True)
    dataset = _dataset(args.work, args.images)
    checkpoint = _checkpoint(args.work, args.tiny, args.device)
    log.info("dataset and checkpoint ready after %.1f s", time.perf_counter() - began)
    results: list[dict[str, Any]] = []
    for variant in args.variants:
        batches = [1] if variant.startswith("compile") else args.batches
        for batch in batches:
            spent = time.perf_counter() - began
            if spent > args.budget_s:
                results.append(
                    {"variant": variant, "batch": batch, "skipped": f"budget ({spent:.0f} s)"}
                )
                continue
            try:
                timing = measure(variant, batch, args, dataset, checkpoint)
                results.append(_entry(variant, batch, timing))
            except Exception as exc:  # a variant that fails is recorded; the next one runs
                traceback.print_exc()
                results.append({"variant": variant, "batch": batch, "error": repr(exc)[:500]})
            log.info("%s", results[-1])
            write_baseline(out, _report(args, device_name, results))
    log.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
