"""Pixel-speed benchmark: one 1024² pseudo-pixel-art picture to a 64 px, 16-colour sprite.

Automatic grid (no size hint), robust downscale, background removal, k-means palette of
16, QA report: the whole ``pipeline.pixelize``. Reports the median and p90 wall time, the
median CPU time of this process (less sensitive to other work on a shared machine), and
peak memory two ways: tracemalloc's peak of Python/numpy allocations during one call and
the growth of the process's max RSS over the runs. Writes
``bench/baselines/pixel_speed.json``. Targets: median <= 25 ms, <= 200 MB.

    .venv/bin/python bench/pixel_speed.py [--runs 40]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baseline import add_note_argument, machine, write_baseline
from synthetic.degrade import degrade
from synthetic.sprites import make_sprite

from comfy_nodes.pixel.pipeline import PixelizeOptions, pixelize

log = logging.getLogger("pixel_speed")
HERE = Path(__file__).resolve().parent
SIDE = 1024


def make_input(seed: int = 0) -> np.ndarray:
    """A 1024² RGB picture of a 64×64 creature at 16 px per cell with a random phase, blur,
    noise, colour jitter and JPEG (the synthetic set's degradations)."""
    rng = np.random.default_rng(seed)
    truth = make_sprite("creature", rng, 64, 64, n_colors=10)
    img, deg = degrade(truth, rng, scale=16.0)
    # Start at the sprite's first cell (sub-pixel phase kept) so the crop holds 64 cells.
    x0, y0 = int(deg.offset_x), int(deg.offset_y)
    return np.ascontiguousarray(img[y0 : y0 + SIDE, x0 : x0 + SIDE])


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--out", type=Path, default=HERE / "baselines" / "pixel_speed.json")
    add_note_argument(ap)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    img = make_input()
    opts = PixelizeOptions(remove_background="auto")  # the defaults: palette size auto
    rss0 = _maxrss_mb()
    tracemalloc.start()
    first = pixelize(img, opts)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for _ in range(3):
        pixelize(img, opts)
    wall, cpu = [], []
    load_before = os.getloadavg()
    for _ in range(args.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        pixelize(img, opts)
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    report = {
        "benchmark": "pixel_speed",
        "input": {"size": [SIDE, SIDE], "cell_px": 16.0, "sprite": [64, 64]},
        "output": {
            "size": list(first.sprite.shape[:2][::-1]),
            "colors": first.report.colors,
            "grid": first.grid.to_dict(),
        },
        "runs": args.runs,
        "median_ms": float(np.median(wall)),
        "p90_ms": float(np.percentile(wall, 90)),
        "min_ms": float(np.min(wall)),
        "median_cpu_ms": float(np.median(cpu)),
        "tracemalloc_peak_mb": peak / 2**20,
        "maxrss_delta_mb": _maxrss_mb() - rss0,
        "maxrss_total_mb": _maxrss_mb(),
        "targets": {"median_ms": 25.0, "memory_mb": 200.0},
        # median_cpu_ms is this process's own CPU time: steadier on a busy machine.
        "machine": machine(load_before, args.note, numpy=np.__version__),
    }
    write_baseline(args.out, report)
    log.info(
        "%s",
        json.dumps(
            {
                k: report[k]
                for k in (
                    "median_ms",
                    "p90_ms",
                    "min_ms",
                    "median_cpu_ms",
                    "tracemalloc_peak_mb",
                    "maxrss_delta_mb",
                )
            }
        ),
    )
    log.info("output %s, wrote %s", report["output"], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
