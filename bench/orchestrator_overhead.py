"""Orchestrator overhead on top of the backend, measured against the engine's real server.

A trivial graph (LoadImage -> SaveImage, no SDXL) runs through the whole `Service` path:
submit -> worker claims -> render -> validate -> record -> POST /prompt -> follow the WS ->
fetch outputs -> write sprite, preview and sidecar -> record. Two figures, median over N:

- `submit_to_first_event_ms`: `Service.submit()` called -> the job's `started` event
  (the backend's `execution_start` reached us).
- `last_event_to_files_ms`: the backend's final `executing node=null` received -> the
  `succeeded` event (history fetched, files and sidecar written atomically, job recorded).

Targets (issue 4, this 2-core CPU): <= 10 ms and <= 20 ms.

    .venv/bin/python bench/orchestrator_overhead.py [--runs 30]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from baseline import add_note_argument, machine, write_baseline
from PIL import Image

import orchestrator.service.follow as follow
from orchestrator.comfy.events import ExecutingEvent
from orchestrator.composition import build_service
from orchestrator.service.job_events import JobEvent, JobEventKind
from orchestrator.service.values import GenerationRequest
from orchestrator.settings import Settings

OUT = Path(__file__).resolve().parent / "baselines" / "orchestrator_overhead.json"

_GRAPH = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "bench_sprite.png"}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
}
_SIDECAR = {
    "type": "dgxp_template_sidecar",
    "version": 1,
    "name": "trivial",
    "description": "LoadImage -> SaveImage: the orchestrator's own overhead only.",
    "outputs": {"sprite": "2"},
    "parameters": [
        {"name": "prompt", "type": "str", "default": ""},
        {"name": "seed", "type": "int", "default": 0, "min": 0},
        {"name": "filename_prefix", "type": "str", "default": "x", "binds": ["2.filename_prefix"]},
    ],
}


def _templates(root: Path) -> Path:
    (root / "sidecars").mkdir(parents=True)
    (root / "trivial.json").write_text(json.dumps(_GRAPH))
    (root / "sidecars" / "trivial.json").write_text(json.dumps(_SIDECAR))
    return root


def _stamp_final_events(stamps: dict[str, float]) -> None:
    """Record when the follower receives `executing node=null` (the backend's last event)."""
    original = follow._Follower.handle

    def handle(self: Any, event: Any) -> Any:
        if isinstance(event, ExecutingEvent) and event.node is None:
            stamps[self.prompt_id] = time.perf_counter()
        return original(self, event)

    follow._Follower.handle = handle  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    add_note_argument(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="dgxp-overhead-"))
    png = io.BytesIO()
    Image.new("RGBA", (32, 32), (200, 30, 30, 255)).save(png, format="PNG")
    (tmp / "input").mkdir()
    (tmp / "input" / "bench_sprite.png").write_bytes(png.getvalue())
    engine, url = _serve_engine(tmp)
    settings = Settings(data_dir=tmp / "data", backends=[url], templates_dir=_templates(tmp / "wf"))
    final_stamps: dict[str, float] = {}
    _stamp_final_events(final_stamps)
    seen: dict[tuple[str, str], float] = {}
    done = threading.Condition()

    def on_event(event: JobEvent) -> None:
        with done:
            seen.setdefault((event.job_id, event.kind.value), time.perf_counter())
            done.notify_all()

    service = build_service(settings, workers=1).start()
    service.subscribe(on_event)
    first, last = [], []
    try:
        for run in range(args.runs + 2):  # two warm-up runs
            t0 = time.perf_counter()
            (job,) = service.submit(GenerationRequest(template="trivial", prompt="bench", seed=run))
            finished = {(job.id, "succeeded"), (job.id, "failed")}
            with done:
                done.wait_for(lambda: bool(finished & seen.keys()), 30)  # noqa: B023
            final = service.get_job(job.id)
            assert final.state.value == "succeeded", final.error
            if run >= 2:
                first.append((seen[(job.id, JobEventKind.STARTED.value)] - t0) * 1000)
                last.append(
                    (seen[(job.id, "succeeded")] - final_stamps[str(final.prompt_id)]) * 1000
                )
    finally:
        service.stop()
        engine.terminate()
        engine.wait(30)
    result = {
        "benchmark": "orchestrator_overhead",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": args.runs,
        "graph": "LoadImage -> SaveImage (32x32 RGBA); `dgx-pixels engine serve` in its own "
        "process (as a real ComfyUI would be), HTTP/WS on loopback",
        "submit_to_first_event_ms": {"median": statistics.median(first), "p90": _p90(first)},
        "last_event_to_files_ms": {"median": statistics.median(last), "p90": _p90(last)},
        "targets_ms": {"submit_to_first_event": 10, "last_event_to_files": 20},
        "files": "sprite PNG + 16x preview + JSON sidecar + QA report, each written to a "
        "temp file and renamed",
        "machine": machine(load_before, args.note),
    }
    write_baseline(OUT, result)
    print(json.dumps(result, indent=2))  # noqa: T201 - a benchmark's report is its output


def _serve_engine(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`dgx-pixels engine serve` on a free port in its own process; wait until it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = [sys.executable, "-c", "from orchestrator.adapters.cli.app import main; main()"]
    command += ["engine", "serve", "--cpu"]
    command += ["--port", str(port), "--input", str(tmp / "input"), "--out", str(tmp / "out")]
    command += ["--models", str(tmp / "models")]
    env = {**os.environ, "DGXP_DATA_DIR": str(tmp / "engine")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/system_stats", timeout=1).ok:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the engine did not come up at {url}")


def _p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


if __name__ == "__main__":
    main()
