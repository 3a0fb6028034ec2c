"""Grid detection alone on the TUNING seeds of both synthetic generators.

The tool to diagnose ``detect_grid`` with: it lists every picture whose detected size is
not the truth's, per generator and seed, and refuses the held-out seeds of
``bench/pixel_quality.py`` (those are for the final evaluation only, never for tuning).

    .venv/bin/python bench/grid_tune.py --seeds 0-12            # both generators
    .venv/bin/python bench/grid_tune.py --seeds 3,5 --generator independent
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from independent import make_independent_set
from synthetic import make_set

from comfy_nodes.pixel.grid import detect_grid

log = logging.getLogger("grid_tune")
#: The held-out seeds of bench/pixel_quality.py (kept equal by tests/bench/test_grid_tune.py).
HELD_OUT = frozenset({910_011, 910_012})
GENERATORS = {"synthetic": make_set, "independent": make_independent_set}


def parse_seeds(text: str) -> list[int]:
    """``"0-3,7"`` -> ``[0, 1, 2, 3, 7]``.

    Raises:
        ValueError: malformed text, or a held-out seed (named).
    """
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise ValueError(f"--seeds: {part!r} is not N or N-M (e.g. 0-12,20)")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    held = sorted(HELD_OUT.intersection(seeds))
    if held:
        raise ValueError(f"--seeds: {held} are held-out seeds; tune on others only")
    return seeds


def run(generator: str, seeds: list[int], n: int) -> tuple[int, int]:
    """Detect every picture of ``n`` per seed; log the wrong sizes; return (exact, total)."""
    exact = total = 0
    for seed in seeds:
        for case in GENERATORS[generator](n, seed):
            t0 = time.perf_counter()
            grid = detect_grid(case.image)
            ms = (time.perf_counter() - t0) * 1e3
            rows, cols = case.truth.shape[:2]
            total += 1
            if (grid.cols, grid.rows) == (cols, rows):
                exact += 1
                continue
            log.info(
                "%s seed %d %s: got %dx%d (cell %.2f px, true %.2f), %.0f ms",
                generator, seed, case.name, grid.cols, grid.rows,
                grid.cell_w, case.degradation.scale, ms,
            )  # fmt: skip
    return exact, total


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", default="0-2", help="tuning seeds, e.g. 0-12,20 (not held out)")
    ap.add_argument("--n", type=int, default=60, help="pictures per seed")
    ap.add_argument("--generator", choices=[*GENERATORS, "both"], default="both")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as exc:
        ap.error(str(exc))
    names = list(GENERATORS) if args.generator == "both" else [args.generator]
    for name in names:
        exact, total = run(name, seeds, args.n)
        log.info("%s seeds %s: exact size %d/%d (%.1f %%)", name, args.seeds, exact, total,
                 100.0 * exact / max(total, 1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
