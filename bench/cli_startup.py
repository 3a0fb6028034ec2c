"""CLI startup benchmark: wall time of whole `dgx-pixels` processes, as a user meets them.

Two commands, each run N times as a fresh subprocess of the installed console script:

- `dgx-pixels --help` (target <= 0.3 s on an idle 2-core machine);
- `dgx-pixels pixelize one.png -o out.png` on a 1024² picture of a 64×64 sprite at 16 px per
  cell (the pixel_speed benchmark's input), 64 px out (target <= 0.6 s).

Reports median, p90 and min wall seconds, plus the process's own CPU time (user + sys of the
child, steadier on a shared machine), and the load averages around the run (bench/baseline.py).
`import_cpu_s` splits the budget: the CPU time of a bare `python -c "import X"` for the
modules the pixelize path loads (median of 5), so a regression points at its module.
Writes ``bench/baselines/cli_startup.json``.

    .venv/bin/python bench/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baseline import add_note_argument, machine, write_baseline

log = logging.getLogger("cli_startup")
HERE = Path(__file__).resolve().parent
TARGETS_S = {"help": 0.3, "pixelize": 0.6}
IMPORTS = (
    "orchestrator.adapters.cli.app",
    "pydantic_settings",
    "rich.progress",
    "numpy",
    "PIL.Image",
    "scipy.ndimage",
    "comfy_nodes.pixel.pipeline",
    "orchestrator.composition",
)


def _script() -> Path:
    """The console script next to this interpreter (the venv's `dgx-pixels`)."""
    return Path(sys.executable).with_name("dgx-pixels")


def _write_input(folder: Path) -> Path:
    """The pixel_speed benchmark's 1024² input, saved as a PNG."""
    from PIL import Image
    from pixel_speed import make_input

    path = folder / "one.png"
    Image.fromarray(make_input()).save(path)
    return path


def _time_runs(command: list[str], runs: int, env: dict[str, str]) -> dict[str, Any]:
    """Run `command` `runs` times (after one warm-up for the file cache); wall and CPU s."""
    subprocess.run(command, check=True, capture_output=True, env=env)
    wall, cpu = [], []
    for _ in range(runs):
        before = os.times()
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        wall.append(time.perf_counter() - start)
        after = os.times()
        cpu.append(
            (after.children_user - before.children_user)
            + (after.children_system - before.children_system)
        )
    wall.sort()
    return {
        "median_s": round(statistics.median(wall), 4),
        "p90_s": round(wall[min(len(wall) - 1, int(0.9 * len(wall)))], 4),
        "min_s": round(wall[0], 4),
        "median_cpu_s": round(statistics.median(cpu), 4),
    }


def _import_costs(env: dict[str, str]) -> dict[str, float]:
    """Median child CPU seconds of `python -c "import X"` per module (minus bare start-up)."""

    def cpu(code: str) -> float:
        runs = []
        for _ in range(5):
            before = os.times()
            subprocess.run([sys.executable, "-c", code], check=True, env=env)
            after = os.times()
            runs.append(
                (after.children_user - before.children_user)
                + (after.children_system - before.children_system)
            )
        return statistics.median(runs)

    bare = cpu("pass")
    return {module: round(cpu(f"import {module}") - bare, 3) for module in IMPORTS}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--out", type=Path, default=HERE / "baselines" / "cli_startup.json")
    add_note_argument(ap)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    script = str(_script())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        image = _write_input(folder)
        # Own data dir and no config file, so the user's settings do not change the figures.
        env = {**os.environ, "DGXP_DATA_DIR": str(folder / "data"), "COLUMNS": "80"}
        env.pop("DGXP_CONFIG", None)
        commands = {
            "help": [script, "--help"],
            "pixelize": [script, "pixelize", str(image), "-o", str(folder / "out.png")],
        }
        load_before = os.getloadavg()
        results = {name: _time_runs(cmd, args.runs, env) for name, cmd in commands.items()}
        imports = _import_costs(env)
    report = {
        "benchmark": "cli_startup",
        "commands": {
            "help": "dgx-pixels --help",
            "pixelize": "dgx-pixels pixelize one.png -o out.png",
        },
        "input": {"size": [1024, 1024], "sprite": [64, 64]},
        "runs": args.runs,
        "results": results,
        "import_cpu_s": imports,
        "targets_s": TARGETS_S,
        "machine": machine(load_before, args.note),
    }
    write_baseline(args.out, report)
    log.info("%s", json.dumps(results))
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
