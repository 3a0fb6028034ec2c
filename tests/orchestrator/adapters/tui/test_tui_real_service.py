"""The TUI against the real daemon stack: bridge over the real Service over the tiny engine."""

from __future__ import annotations

import asyncio

from textual.widgets import Input, Select, SelectionList

from orchestrator.adapters.tui.app import PixelsApp
from orchestrator.adapters.tui.daemon_client import DaemonClient
from orchestrator.adapters.tui.graphics import GraphicsMode
from orchestrator.adapters.tui.halfcell import HalfCellImage
from orchestrator.adapters.tui.screens import CompareScreen
from orchestrator.adapters.tui.widgets import Gallery, JobItem, JobList, PreviewPane
from orchestrator.adapters.zmq.bridge import ZmqBridge
from orchestrator.service import Service
from orchestrator.settings import Settings
from orchestrator.wire.zmq_protocol import SubmitRequest

FAST = {"steps": 2, "width": 64, "height": 64, "checkpoint": "tiny_sdxl.safetensors"}


def _app(settings: Settings, **client: float) -> PixelsApp:
    """The TUI on the daemon's endpoints, drawing images with half-cell blocks."""
    endpoints = DaemonClient(settings.zmq_router, settings.zmq_pub, **client)
    return PixelsApp(endpoints, GraphicsMode.HALFCELL)


async def _until(cond, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_pickers_fill_from_the_daemon_and_submit_carries_them(
    real_bridge: ZmqBridge, real_service: Service, bridge_settings: Settings
) -> None:
    app = _app(bridge_settings)
    async with app.run_test(size=(140, 45)) as pilot:
        await _until(lambda: app.connected and app.pickers_loaded)
        assert app.models == ["tiny_sdxl.safetensors"]
        assert app.loras == ["tiny_lora.safetensors"]
        app.query_one("#palette", Select).value = "pico-8"
        app.query_one("#size", Select).value = "32x32"
        app.query_one("#lora", Select).value = "tiny_lora.safetensors"
        await pilot.click("#prompt")
        await pilot.press(*"knight", "enter")
        await _until(lambda: len(real_service.list_jobs()) == 1 or bool(list(app._notifications)))
        assert [n.message for n in app._notifications] == ["queued 1 job(s)"]
        assert app.query_one("#template", Select).value == "single_sprite"
        params = real_service.list_jobs()[0].params
        assert params["prompt"] == "knight" and params["palette"] == "pico-8"
        assert params["checkpoint"] == "tiny_sdxl.safetensors"  # first model picked for us
        assert params["sprite_size"] == "32x32"
        assert [x["name"] for x in params["loras"]] == ["tiny_lora.safetensors"]


async def test_a_real_job_streams_into_the_list_preview_and_gallery(
    real_bridge: ZmqBridge, real_service: Service, bridge_settings: Settings
) -> None:
    app = _app(bridge_settings, timeout_s=20)
    client = app.client
    async with app.run_test(size=(140, 45)):
        await _until(lambda: app.connected)
        result, _ = await client.request(SubmitRequest(prompt="potion", seed=1, params=FAST))
        job_id = result.jobs[0].id
        await _until(lambda: len(list(app.query(JobItem))) == 1)
        app.query_one(JobList).focus()
        real_service.start()
        await _until(lambda: app.book.jobs[job_id].state == "succeeded", timeout_s=120)
        await _until(lambda: app.query_one(Gallery).shown() == [job_id])
        await _until(lambda: app.query_one(PreviewPane).image is not None)
        image = app.query_one(PreviewPane).image
        assert isinstance(image, HalfCellImage) and image.rgba.shape[2] == 4


async def test_compare_a_model_and_a_lora_on_the_real_service(
    real_bridge: ZmqBridge, real_service: Service, bridge_settings: Settings
) -> None:
    app = _app(bridge_settings)
    async with app.run_test(size=(140, 45)) as pilot:
        await _until(lambda: app.connected and app.pickers_loaded)
        app.query_one(JobList).focus()
        await pilot.press("m")
        await _until(lambda: isinstance(app.screen, CompareScreen))
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        screen.query_one("#compare-prompt", Input).value = "goblin"
        screen.query_one("#compare-seed", Input).value = "9"
        screen.query_one(SelectionList).select_all()
        await pilot.click("#compare-go")
        await _until(lambda: len(screen.panes) == 2)
        jobs = real_service.list_jobs()
        assert sorted(j.seed for j in jobs) == [9, 9]
        assert {j.params["checkpoint"] for j in jobs} == {"tiny_sdxl.safetensors"}
        assert sorted(len(j.params["loras"]) for j in jobs) == [0, 1]
