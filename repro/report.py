"""Helpers of `repro/run.sh`: capture the environment; run the CLI and measure it.

python repro/report.py env                       # environment JSON on stdout
python repro/report.py run --out F --env E -- CMD...   # run CMD, write metrics to F
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PACKAGES = (
    "torch",
    "diffusers",
    "transformers",
    "safetensors",
    "peft",
    "numpy",
    "pillow",
    "aiohttp",
    "requests",
    "websocket-client",
    "pydantic",
    "typer",
    "rich",
    "pyzmq",
    "fastmcp",
    "textual",
    "dgx-pixels",
)


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _gpus() -> list[dict[str, str]]:
    if not shutil.which("nvidia-smi"):
        return []
    fields = "name,driver_version,memory.total,compute_cap"
    rows = _run(["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader"]).splitlines()
    return [
        dict(zip(fields.split(","), (c.strip() for c in r.split(",")), strict=False)) for r in rows
    ]


def _torch() -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {"installed": False}
    return {
        "version": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,  # type: ignore[no-untyped-call]
        "cuda_available": torch.cuda.is_available(),
        "threads": torch.get_num_threads(),
    }


def environment() -> dict[str, Any]:
    """Everything that decides the numbers: hardware, drivers, versions, commit."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    dirty = bool(_run(["git", "status", "--porcelain", "--untracked-files=no"]))
    return {
        "captured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _run(["git", "rev-parse", "HEAD"]) or None,
        "commit_dirty": dirty,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "gpus": _gpus(),
        "torch": _torch(),
        "packages": versions,
    }


class _GpuPeak(threading.Thread):
    """Polls nvidia-smi for the highest memory.used while the run lasts."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mib = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while shutil.which("nvidia-smi") and not self.stop.wait(0.5):
            out = _run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"])
            for line in out.splitlines():
                if line.strip().isdigit():
                    self.peak_mib = max(self.peak_mib, int(line.strip()))


def _job_latencies(data_dir: Path) -> list[float]:
    db = sqlite3.connect(data_dir / "jobs.sqlite3")
    rows = db.execute(
        "SELECT started_at, finished_at FROM jobs WHERE state = 'succeeded'"
    ).fetchall()
    db.close()
    return [f - s for s, f in rows if s and f]


def run(command: list[str], out: Path, env_file: Path) -> int:
    """Run the generate command, then write img/s, latency and peak memory to `out`."""
    gpu = _GpuPeak()
    gpu.start()
    started = time.perf_counter()
    code = subprocess.run(command, check=False).returncode
    wall = time.perf_counter() - started
    gpu.stop.set()
    latencies = _job_latencies(Path(os.environ["DGXP_DATA_DIR"]))
    result = {
        "benchmark": "repro_smoke",
        "command": command[2:] if len(command) > 2 else command,
        "exit_code": code,
        "images": len(latencies),
        "wall_s": round(wall, 3),
        "images_per_s": round(len(latencies) / wall, 4) if wall else None,
        "latency_s": {
            "median": round(statistics.median(latencies), 3) if latencies else None,
            "min": round(min(latencies), 3) if latencies else None,
            "max": round(max(latencies), 3) if latencies else None,
        },
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "peak_gpu_memory_mib": gpu.peak_mib or None,
        "note": "wall_s includes process start, engine start and the first model load; "
        "latency_s is per job, from execution start to files written.",
        "environment": json.loads(env_file.read_text()),
    }
    from comfy_nodes.pixel.atomic import write_atomic  # the project's one file writer

    write_atomic(out, (json.dumps(result, indent=2) + "\n").encode("utf-8"))
    print(json.dumps({k: v for k, v in result.items() if k != "environment"}, indent=2))  # noqa: T201
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("env")
    runner = sub.add_parser("run")
    runner.add_argument("--out", type=Path, required=True)
    runner.add_argument("--env", type=Path, required=True)
    runner.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.what == "env":
        print(json.dumps(environment(), indent=2))  # noqa: T201
        return
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    raise SystemExit(run(command, args.out, args.env))


if __name__ == "__main__":
    main()
