"""The TUI driven by Textual's headless pilot against a real bridge over real sockets."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, SelectionList, Static

from orchestrator.adapters.tui.app import PixelsApp
from orchestrator.adapters.tui.daemon_client import DaemonClient
from orchestrator.adapters.tui.graphics import GraphicsMode
from orchestrator.adapters.tui.halfcell import HalfCellImage
from orchestrator.adapters.tui.screens import CompareScreen, HelpScreen
from orchestrator.adapters.tui.widgets import Gallery, JobItem, JobList, PreviewPane, StepBar
from orchestrator.adapters.zmq.bridge import BridgeConfig, ZmqBridge


def _app(config: BridgeConfig) -> PixelsApp:
    client = DaemonClient(config.router, config.pub, timeout_s=1.0)
    return PixelsApp(client, GraphicsMode.HALFCELL, silence_s=0.6, retry_s=0.1)


async def until(pilot: Pilot[Any], cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.05)


def _status(app: PixelsApp) -> str:
    return str(app.query_one("#status", Static).render())


def _rows(app: PixelsApp) -> list[JobItem]:
    return list(app.query_one(JobList).query(JobItem))


async def test_submit_from_the_prompt_queues_a_job(bridge: ZmqBridge, store_service: Any) -> None:
    app = _app(bridge.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected)
        await pilot.click("#prompt")
        await pilot.press(*"a red potion", "enter")
        await until(pilot, lambda: len(_rows(app)) == 1)
        assert _rows(app)[0].job.prompt == "a red potion"
        stored = store_service.store.list_jobs()
        assert [j.params["prompt"] for j in stored] == ["a red potion"]
        assert stored[0].params.get("sprite_size") is None  # size picker left on auto


async def test_progress_preview_and_gallery_follow_a_running_job(
    bridge: ZmqBridge, store_service: Any, sprite_png: Path
) -> None:
    app = _app(bridge.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected)
        job = _submit(store_service, "slime")
        await until(pilot, lambda: len(_rows(app)) == 1)
        app.query_one(JobList).focus()
        store_service.run(job.id, steps=4, sprite=sprite_png)
        await until(pilot, lambda: _rows(app)[0].job.state == "succeeded")
        assert _rows(app)[0].query_one(StepBar).fraction == 1.0
        await until(pilot, lambda: app.query_one(Gallery).shown() == [job.id])
        await until(pilot, lambda: app.query_one(PreviewPane).image is not None)
        image = app.query_one(PreviewPane).image
        assert isinstance(image, HalfCellImage)
        assert image.rgba[0, 0].tolist() == [255, 0, 0, 255] and image.rgba[3, 1, 3] == 0


def _submit(service: Any, prompt: str) -> Any:
    from orchestrator.service.values import GenerationRequest

    return service.submit(GenerationRequest(prompt=prompt, seed=1))[0]


async def test_cancel_key_cancels_the_selected_job(bridge: ZmqBridge, store_service: Any) -> None:
    app = _app(bridge.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected)
        job = _submit(store_service, "to cancel")
        await until(pilot, lambda: len(_rows(app)) == 1)
        app.query_one(JobList).focus()
        await pilot.press("c")
        await until(pilot, lambda: _rows(app)[0].job.state == "cancelled")
        assert store_service.store.get(job.id).state == "cancelled"
        await pilot.press("r")
        await until(pilot, lambda: _rows(app)[0].job.state == "queued")


async def _compare_screen(app: PixelsApp, pilot: Pilot[Any], prompt: str) -> CompareScreen:
    """Wait for the daemon's catalogue, press `m`, type the prompt; the compare screen."""
    await until(pilot, lambda: app.connected and bool(app.models))
    app.query_one(JobList).focus()
    await pilot.press("m")
    await until(pilot, lambda: isinstance(app.screen, CompareScreen))
    screen = app.screen
    assert isinstance(screen, CompareScreen)
    screen.query_one("#compare-prompt", Input).value = prompt
    return screen


async def test_compare_runs_one_prompt_and_seed_across_two_variants(
    bridge: ZmqBridge, store_service: Any
) -> None:
    app = _app(bridge.config)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _compare_screen(app, pilot, "goblin")
        screen.query_one("#compare-seed", Input).value = "42"
        choices = screen.query_one(SelectionList)
        choices.select_all()
        await pilot.click("#compare-go")
        await until(pilot, lambda: len(screen.panes) == 2)
        jobs = store_service.store.list_jobs()
        assert sorted(j.seed for j in jobs) == [42, 42]
        assert sorted(j.params["label"] for j in jobs) == [
            "tiny_lora.safetensors",
            "tiny_sdxl.safetensors",
        ]


async def test_compare_sends_steps_and_render_size_as_template_params(
    bridge: ZmqBridge, store_service: Any
) -> None:
    app = _app(bridge.config)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _compare_screen(app, pilot, "goblin")
        screen.query_one("#compare-seed", Input).value = str(2**64 - 1)
        screen.query_one("#compare-steps", Input).value = "2"
        screen.query_one("#compare-render", Input).value = "64x48"
        screen.query_one(SelectionList).select_all()
        await pilot.click("#compare-go")
        await until(pilot, lambda: len(screen.panes) == 2)
        jobs = store_service.store.list_jobs()
        assert {
            (j.seed, j.params["steps"], j.params["width"], j.params["height"]) for j in jobs
        } == {(2**64 - 1, 2, 64, 48)}


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("#compare-render", "big", "render='big'"),
        ("#compare-seed", str(2**64), "seed=18446744073709551616"),
        ("#compare-steps", "-", "steps='-'"),
    ],
)
async def test_bad_compare_knobs_are_named_and_nothing_is_sent(
    bridge: ZmqBridge, store_service: Any, field: str, value: str, needle: str
) -> None:
    app = _app(bridge.config)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _compare_screen(app, pilot, "goblin")
        screen.query_one(field, Input).value = value
        screen.query_one(SelectionList).select_all()
        await pilot.click("#compare-go")
        await pilot.pause(0.1)
        assert needle in str(screen.query_one("#compare-error", Static).render())
        assert store_service.store.count() == 0


async def test_compare_needs_two_to_four_choices(bridge: ZmqBridge, store_service: Any) -> None:
    app = _app(bridge.config)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _compare_screen(app, pilot, "goblin")
        await pilot.click("#compare-go")
        await pilot.pause(0.1)
        assert "picked 0" in str(screen.query_one("#compare-error", Static).render())
        assert store_service.store.count() == 0


async def test_help_key_shows_every_binding(bridge: ZmqBridge) -> None:
    app = _app(bridge.config)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(JobList).focus()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_daemon_down_is_shown_and_the_app_reconnects_when_it_returns(
    store_service: Any, endpoints: BridgeConfig
) -> None:
    app = _app(endpoints)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "daemon down" in _status(app))
        assert app.query_one("#main").has_class("-down")
        _submit(store_service, "made while the daemon was down")
        with ZmqBridge(store_service, endpoints):
            await until(pilot, lambda: app.connected, timeout_s=8)
            await until(pilot, lambda: len(_rows(app)) == 1)
        await until(pilot, lambda: "daemon down" in _status(app), timeout_s=8)
        assert [r.job.prompt for r in _rows(app)] == ["made while the daemon was down"]


async def test_gallery_key_and_enter_show_a_recent_sprite(
    bridge: ZmqBridge, store_service: Any, sprite_png: Path
) -> None:
    app = _app(bridge.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected)
        first, second = _submit(store_service, "first"), _submit(store_service, "second")
        store_service.run(first.id, steps=1, sprite=sprite_png)
        store_service.run(second.id, steps=1, sprite=sprite_png)
        await until(pilot, lambda: app.query_one(Gallery).shown() == [second.id, first.id])
        app.query_one(JobList).focus()
        await pilot.press("g")  # newest first
        await pilot.press("enter")
        await until(pilot, lambda: second.id[:8] in _caption(app))
        assert app.query_one(PreviewPane).image is not None


def _caption(app: PixelsApp) -> str:
    return str(app.query_one(PreviewPane).query_one(".preview-caption", Static).render())
