"""What every CPU benchmark records about the machine, and how it writes its baseline JSON.

The machine's state is read, not asserted: load averages before and after the run say
whether the figures were taken on a busy or a quiet machine; `--note` adds anything else.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
from pathlib import Path
from typing import Any

from comfy_nodes.pixel.atomic import write_atomic

__all__ = ["add_note_argument", "device_slug", "machine", "write_baseline"]


def add_note_argument(parser: argparse.ArgumentParser) -> None:
    """`--note TEXT`: free text stored in the JSON (e.g. 'a test run shared the CPU')."""
    parser.add_argument("--note", default="", help="Free text stored in the result JSON.")


def device_slug() -> str:
    """CUDA device 0's name as a file-name part (`nvidia-h100-80gb-hbm3`); `cpu` without CUDA."""
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    return re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name(0).lower()).strip("-")


def machine(load_before: tuple[float, float, float], note: str, **versions: str) -> dict[str, Any]:
    """Python, CPU count, load averages around the run, library versions and the note."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        **versions,
        "note": note,
    }


def write_baseline(path: Path, report: dict[str, Any]) -> None:
    """Write `report` as indented JSON, whole or not at all (the folder is created if needed)."""
    write_atomic(path, (json.dumps(report, indent=2, default=float) + "\n").encode("utf-8"))
