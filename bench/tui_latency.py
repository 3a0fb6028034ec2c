"""TUI responsiveness: key press -> screen updated, and frame render time under load.

The real app (`PixelsApp`) runs headless under Textual's pilot, connected over ipc:// to a
real `ZmqBridge` over a real `Service` (SQLite store in a temp folder, no engine: this
script plays the worker, publishing the events a sampler would through the service's
event hub).

* key latency: from the key event entering the app (as the terminal driver delivers it)
  until the change is made and the next frame has been rendered — moving the job cursor
  (the preview follows), typing in the prompt, opening the help screen.
* frame time: each screen update (layout + compositor render) measured while 8 jobs
  stream progress at 30 steps/s each (240 events/s through ZeroMQ).

Targets: key -> update <= 50 ms (p50); frame render <= 16 ms (p99).
Headless Textual skips writing ANSI to a terminal, so frame time excludes terminal I/O.

    .venv/bin/python bench/tui_latency.py          # writes bench/baselines/tui_latency.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import textual
from baseline import add_note_argument, machine, write_baseline
from textual import events
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from orchestrator.adapters.tui.app import PixelsApp
from orchestrator.adapters.tui.daemon_client import DaemonClient
from orchestrator.adapters.tui.graphics import GraphicsMode
from orchestrator.adapters.tui.screens import HelpScreen
from orchestrator.adapters.tui.widgets import JobList, PreviewPane
from orchestrator.adapters.zmq.bridge import BridgeConfig, ZmqBridge
from orchestrator.jobs import JobStore, NewJob
from orchestrator.service import Service
from orchestrator.service.backend_pool import BackendPool
from orchestrator.service.job_events import JobEventKind
from orchestrator.settings import Settings
from orchestrator.workflows import TemplateLibrary, default_templates_dir

logger = logging.getLogger("bench.tui_latency")

TARGET_KEY_MS = 50.0
TARGET_FRAME_MS = 16.0
JOBS = 8
STEPS = 90
STEP_HZ = 30.0


def _stats(ms: list[float]) -> dict[str, float]:
    data = sorted(ms)

    def pct(p: float) -> float:
        return round(data[min(len(data) - 1, int(p * len(data)))], 3)

    return {
        "n": len(data),
        "p50_ms": pct(0.5),
        "p90_ms": pct(0.9),
        "p99_ms": pct(0.99),
        "max_ms": round(data[-1], 3),
        "mean_ms": round(statistics.fmean(data), 3),
    }


class FrameClock:
    """Counts and times every screen update (layout + compositor render) while installed."""

    def __init__(self) -> None:
        self.count = 0
        self.samples_ms: list[float] = []
        self.recording = False
        self._original = Screen._on_timer_update

    def install(self) -> None:
        original = self._original

        def timed(screen: Screen[Any]) -> None:
            start = time.perf_counter()
            original(screen)
            self.count += 1
            if self.recording:
                self.samples_ms.append((time.perf_counter() - start) * 1000)

        Screen._on_timer_update = timed  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        Screen._on_timer_update = self._original  # type: ignore[method-assign]


async def _time_until(
    app: PixelsApp, clock: FrameClock, key: str, char: str | None, done: Callable[[], bool]
) -> float:
    """Key event in (as the terminal driver delivers it) -> change made -> next frame drawn."""
    assert app._driver is not None
    start = time.perf_counter()
    app._driver.send_message(events.Key(key, char))
    while not done():
        await asyncio.sleep(0.0002)
    frames = clock.count
    while clock.count == frames:
        await asyncio.sleep(0.0002)
    return (time.perf_counter() - start) * 1000


def _caption_is(app: PixelsApp, prefix: str) -> bool:
    return str(app.query_one(PreviewPane).query_one(".preview-caption").render()).startswith(prefix)


def _typed(prompt: Input, length: int) -> bool:
    return len(prompt.value) == length


async def measure_keys(
    app: PixelsApp, pilot: Pilot[Any], clock: FrameClock, rounds: int
) -> dict[str, Any]:
    """Three interactions, `rounds` times each."""
    jobs = app.query_one(JobList)
    jobs.focus()
    await pilot.pause()
    cursor, typing, help_ms = [], [], []
    for i in range(rounds):
        key = "down" if i % 2 == 0 else "up"
        target = jobs.index + (1 if key == "down" else -1)  # type: ignore[operator]
        job_id = list(app.book.ordered())[target].id[:8]
        moved = await _time_until(app, clock, key, None, partial(_caption_is, app, job_id))
        cursor.append(moved)
        shown = await _time_until(
            app, clock, "question_mark", "?", lambda: isinstance(app.screen, HelpScreen)
        )
        help_ms.append(shown)
        await pilot.press("escape")
        await pilot.pause()
    prompt = app.query_one("#prompt", Input)
    prompt.focus()
    await pilot.pause()
    for i in range(rounds):
        char = "ab"[i % 2]
        expected = len(prompt.value) + 1
        typing.append(await _time_until(app, clock, char, char, partial(_typed, prompt, expected)))
    return {
        "move_job_cursor_preview_follows": _stats(cursor),
        "type_in_prompt": _stats(typing),
        "open_help": _stats(help_ms),
    }


def _stream_progress(service: Service, job_ids: list[str]) -> None:
    # What 8 workers' samplers would publish: one progress event per step per job.
    for job_id in job_ids:
        service.store.mark_submitted(job_id, "bench-" + job_id[:6], "http://bench")
        job = service.store.mark_running(job_id)
        service.hub.publish(JobEventKind.STARTED, job_id, job=job)
    for step in range(1, STEPS + 1):
        tick = time.perf_counter()
        for job_id in job_ids:
            service.store.set_progress(job_id, step, STEPS)
            service.hub.publish(JobEventKind.PROGRESS, job_id, value=step, maximum=STEPS)
        time.sleep(max(0.0, 1 / STEP_HZ - (time.perf_counter() - tick)))


async def measure_frames(
    app: PixelsApp, pilot: Pilot[Any], clock: FrameClock, service: Service
) -> dict[str, Any]:
    """Frame times while 8 jobs stream progress."""
    job_ids = [j.id for j in app.book.ordered()[:JOBS]]
    clock.recording = True
    start = time.perf_counter()
    worker = threading.Thread(target=_stream_progress, args=(service, job_ids))
    worker.start()
    final = dict.fromkeys(job_ids, (STEPS, STEPS))
    while {j: app.book.jobs[j].progress for j in job_ids} != final:
        await pilot.pause(0.01)
    worker.join()
    seconds = time.perf_counter() - start
    clock.recording = False
    frames = clock.samples_ms
    return {
        "jobs": JOBS,
        "events": JOBS * (STEPS + 1),
        "seconds": round(seconds, 2),
        "frames": _stats(frames),
        "frames_per_second": round(len(frames) / seconds, 1),
    }


async def run(rounds: int) -> dict[str, Any]:
    """Build the stack, then measure."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", backends=["http://127.0.0.1:9"])
        store = JobStore(settings.database_path)
        store.create([NewJob("single_sprite", {"prompt": f"sprite {i}"}, i) for i in range(JOBS)])
        service = Service(settings, BackendPool(), store, TemplateLibrary(default_templates_dir()))
        config = BridgeConfig(router=f"ipc://{tmp}/req", pub=f"ipc://{tmp}/pub", heartbeat_s=0.5)
        with ZmqBridge(service, config):
            client = DaemonClient(config.router, config.pub)
            app = PixelsApp(client, GraphicsMode.HALFCELL)
            clock = FrameClock()
            clock.install()
            try:
                async with app.run_test(size=(160, 50)) as pilot:
                    while not (app.connected and len(app.book.jobs) == JOBS):
                        await pilot.pause(0.05)
                    keys = await measure_keys(app, pilot, clock, rounds)
                    frames = await measure_frames(app, pilot, clock, service)
            finally:
                clock.uninstall()
        store.close()
    return {"keys": keys, "streaming": frames}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40, help="Repetitions per key kind.")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "baselines" / "tui_latency.json"
    )
    add_note_argument(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    load_before = os.getloadavg()
    results = asyncio.run(run(args.rounds))
    meets = all(s["p50_ms"] <= TARGET_KEY_MS for s in results["keys"].values()) and (
        results["streaming"]["frames"]["p99_ms"] <= TARGET_FRAME_MS
    )
    report = {
        "benchmark": "tui_latency",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "targets": {"key_to_update_p50_ms": TARGET_KEY_MS, "frame_render_p99_ms": TARGET_FRAME_MS},
        "meets_target": meets,
        **results,
        "mode": "headless Textual pilot (no terminal writes)",
        "machine": machine(load_before, args.note, textual=textual.__version__),
    }
    write_baseline(args.out, report)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
