"""The TUI's status panel shows GPU utilization, VRAM and img/min from the daemon's figures,
first from the snapshot, then refreshed by pings (a real bridge over real sockets)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from orchestrator.adapters.tui.app import PixelsApp
from orchestrator.adapters.tui.daemon_client import DaemonClient
from orchestrator.adapters.tui.figures import FiguresPanel, figures_line
from orchestrator.adapters.tui.graphics import GraphicsMode
from orchestrator.adapters.tui.widgets import Gallery, JobItem, JobList
from orchestrator.adapters.zmq.bridge import ZmqBridge
from orchestrator.service.values import GenerationRequest
from orchestrator.wire.zmq_protocol import WireGpu, WireStatus


async def _until(pilot: Pilot[Any], cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.05)


def _panel(app: PixelsApp) -> str:
    return str(app.query_one(FiguresPanel).render())


async def test_the_panel_follows_the_daemons_queue_and_image_rate(
    bridge: ZmqBridge, store_service: Any, sprite_png: Path
) -> None:
    client = DaemonClient(bridge.config.router, bridge.config.pub, timeout_s=1.0)
    app = PixelsApp(client, GraphicsMode.HALFCELL, silence_s=0.6, retry_s=0.1, figures_s=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.connected)
        assert _panel(app) == "GPU: none · 0.00 img/min · queue 0"  # from the snapshot
        first, _ = store_service.submit(GenerationRequest(prompt="a gem", count=2))
        await _until(pilot, lambda: len(app.query_one(JobList).query(JobItem)) == 2)
        store_service.run(first.id, 2, sprite_png)
        await _until(pilot, lambda: _panel(app) == "GPU: none · 0.20 img/min · queue 1")
        # Let the app finish with the sprite before it exits (it fetches it into the gallery).
        await _until(pilot, lambda: app.query_one(Gallery).shown() == [first.id])


def test_the_line_names_each_gpus_utilization_and_vram() -> None:
    gpu = WireGpu(
        index=0, name="H100", utilization=0.87, memory_used_bytes=41 * 2**30,
        memory_total_bytes=80 * 2**30, memory_source="nvml",
    )  # fmt: skip
    status = WireStatus(taken_at=0, queued=3, images_per_minute=3.4, gpus=[gpu])
    assert figures_line(status) == "GPU0 87% VRAM 41.0/80.0 GiB · 3.40 img/min · queue 3"
    unknown = WireGpu(index=1, name="GB10", memory_source=None)
    assert figures_line(status.model_copy(update={"gpus": [unknown]})).startswith("GPU1 ? VRAM ?")
    assert figures_line(None) == "figures: not reported by this daemon"
