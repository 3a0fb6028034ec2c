"""The pixelize node as the engine runs it: a 1024² IMAGE tensor in, a sprite tensor out.

`bench/pixel_speed.py` times the algorithm (`pipeline.pixelize` on a numpy picture); this
times `DGXP_PixelizeSprite.pixelize` on the float32 ``[1, 1024, 1024, 3]`` torch tensor the
VAE hands over, split into its parts: IMAGE -> RGBA frames (``image_tensor_to_rgba``), the
algorithm (``pixelize_batch``) and RGBA -> IMAGE/MASK tensors. Inputs:

    pixel_art      pixel_speed's degraded 64×64 creature at 16 px per cell
    smooth_noise   blurred random colours (what a random-weights SDXL decodes to)
    uniform_noise  independent random pixels (the worst case for grid and palette)

each with ``sprite_size`` "auto" (the template default) and "64x64" (what bench/e2e.py
asks for). Target (issue 14): the node costs what the algorithm costs, <= 30 ms for the
pixel-art input. Also records torch's and numpy's thread settings, since an oversubscribed
CPU (torch's pool spinning beside numpy) is one way the node gets slower in an engine.

    .venv/bin/python bench/pixelize_node.py [--runs 15] [--out FILE]

Writes ``bench/baselines/pixelize_node-<device>.json`` (``cpu`` unless CUDA is present).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baseline import add_note_argument, device_slug, machine, write_baseline
from pixel_speed import make_input

from comfy_nodes.nodes.pixelize import PixelizeSprite
from comfy_nodes.pixel.pipeline import options_from_widgets, pixelize_batch
from comfy_nodes.pixel.tensors import image_tensor_to_rgba, rgba_to_image_tensor

__all__ = ["INPUTS", "main"]

log = logging.getLogger("pixelize_node")
HERE = Path(__file__).resolve().parent
SIDE = 1024
TARGET_MS = 30.0


def _smooth_noise(seed: int = 0) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    img = gaussian_filter(rng.random((SIDE, SIDE, 3)), (3, 3, 0))
    return ((img - img.min()) / (img.max() - img.min())).astype(np.float32)


def _uniform_noise(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((SIDE, SIDE, 3), dtype=np.float32)


def _pixel_art() -> np.ndarray:
    return (make_input().astype(np.float32) / 255.0)[..., :3]


INPUTS: dict[str, Callable[[], np.ndarray]] = {
    "pixel_art": _pixel_art,
    "smooth_noise": _smooth_noise,
    "uniform_noise": _uniform_noise,
}
SPRITE_SIZES = ("auto", "64x64")


def _widgets(sprite_size: str) -> dict[str, Any]:
    """single_sprite's node-10 widgets (bench/e2e.py's job, sprite size aside)."""
    return {
        "sprite_size": sprite_size,
        "palette": "auto",
        "colors": 16,
        "dither": "none",
        "remove_background": "auto",
        "outline": False,
        "seed": 0,
        "key_color": "",
    }


def _median_ms(call: Callable[[], object], runs: int) -> float:
    call()  # warm: first-call allocations and imports
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1e3)
    return round(statistics.median(times), 2)


def measure(image: Any, sprite_size: str, runs: int) -> dict[str, Any]:
    """Median milliseconds of the node and of each of its parts on one IMAGE tensor."""
    widgets = _widgets(sprite_size)
    node = PixelizeSprite()
    frames = image_tensor_to_rgba(image)
    options = options_from_widgets(**widgets)
    batch = pixelize_batch(frames, options)
    parts = {
        "node_ms": _median_ms(lambda: node.pixelize(image, **widgets), runs),
        "to_rgba_ms": _median_ms(lambda: image_tensor_to_rgba(image), runs),
        "algorithm_ms": _median_ms(lambda: pixelize_batch(frames, options), runs),
        "to_tensor_ms": _median_ms(lambda: rgba_to_image_tensor(batch.sprites), runs),
    }
    parts["overhead_ms"] = round(parts["node_ms"] - parts["algorithm_ms"], 2)
    parts["sprite"] = list(batch.sprites[0].shape[:2][::-1])
    return parts


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Time every input x sprite size and write the baseline JSON; returns the report."""
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="Timed runs per case (15).")
    ap.add_argument("--out", type=Path, help="Result JSON (default baselines/pixelize_node-*).")
    add_note_argument(ap)
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error(f"--runs {args.runs} must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    load_before = os.getloadavg()
    cases = []
    for name, make in INPUTS.items():
        image = torch.from_numpy(np.ascontiguousarray(make()))[None]
        for sprite_size in SPRITE_SIZES:
            result = {
                "input": name,
                "sprite_size": sprite_size,
                **measure(image, sprite_size, args.runs),
            }
            log.info("%s", result)
            cases.append(result)
    device = device_slug()
    art = next(c for c in cases if c["input"] == "pixel_art" and c["sprite_size"] == "auto")
    report = {
        "benchmark": "pixelize_node",
        "device": device,
        "input_size": [SIDE, SIDE],
        "runs": args.runs,
        "target_node_ms": TARGET_MS,
        "pixel_art_auto_node_ms": art["node_ms"],
        "cases": cases,
        "threads": {
            "torch": torch.get_num_threads(),
            "torch_interop": torch.get_num_interop_threads(),
            **{
                k: os.environ[k]
                for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
                if k in os.environ
            },
        },
        "machine": machine(load_before, args.note, numpy=np.__version__, torch=torch.__version__),
    }
    write_baseline(args.out or HERE / "baselines" / f"pixelize_node-{device}.json", report)
    return report


if __name__ == "__main__":
    main()
