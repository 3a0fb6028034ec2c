"""The gallery's previews people look at: an animation sheet plays in the preview (frames
and durations from the daemon's GIF, stepped by a Textual timer), a tileset is shown tiled.

The app tests run the TUI with Textual's pilot against a real bridge over real sockets; the
frame timer is driven deterministically by calling its callback (`next_frame`) with the
timer paused, so no assertion waits on the wall clock's pace.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from comfy_nodes.pixel.animation_preview import preview_frames, preview_gif
from orchestrator.adapters.tui.app import PixelsApp
from orchestrator.adapters.tui.daemon_client import DaemonClient
from orchestrator.adapters.tui.flipbook import Flipbook, decode_animation, undo_enlargement
from orchestrator.adapters.tui.graphics import GraphicsMode
from orchestrator.adapters.tui.halfcell import HalfCellImage
from orchestrator.adapters.tui.widgets import Gallery, PreviewPane, Thumb
from orchestrator.adapters.zmq.bridge import BridgeConfig, ZmqBridge
from orchestrator.jobs.models import SpriteFiles
from orchestrator.service.values import GenerationRequest

DURATIONS = (120, 80, 200, 40)  # ms, as an Aseprite atlas gives them (GIF keeps 10 ms units)
COLOURS = ((255, 0, 0), (0, 200, 0), (0, 0, 255), (250, 250, 0))


def _sheet() -> tuple[np.ndarray, dict[str, Any]]:
    """A 4-frame walk of 4x6 cells: each frame a 2x3 body of its own colour, one pixel
    lower every frame, on transparency; and its Aseprite atlas."""
    sheet = np.zeros((6, 16, 4), dtype=np.uint8)
    for i, colour in enumerate(COLOURS):
        sheet[i % 3 : i % 3 + 3, i * 4 + 1 : i * 4 + 3] = (*colour, 255)
    frames = [
        {"frame": {"x": 4 * i, "y": 0, "w": 4, "h": 6}, "duration": d}
        for i, d in enumerate(DURATIONS)
    ]
    return sheet, {"frames": frames, "meta": {"frameTags": []}}


def _png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


# --- the flipbook: decoding the daemon's GIF ----------------------------------------------


def test_the_gif_decodes_to_the_sheets_true_size_frames_and_atlas_durations() -> None:
    sheet, atlas = _sheet()
    book = decode_animation(preview_gif(sheet, atlas, scale=5))
    expected, _ = preview_frames(sheet, atlas)
    assert book.durations_ms == DURATIONS
    assert [f.tolist() for f in book.frames] == [f.tolist() for f in expected]


def test_undo_enlargement_leaves_true_size_art_alone() -> None:
    art = np.zeros((4, 4, 4), dtype=np.uint8)
    art[1, 2] = (9, 9, 9, 255)  # one lone pixel: no block structure to undo
    assert undo_enlargement([art])[0] is art
    big = np.repeat(np.repeat(art, 3, axis=0), 3, axis=1)
    assert undo_enlargement([big])[0].tolist() == art.tolist()


def test_unreadable_bytes_and_bad_flipbooks_are_refused_naming_the_problem() -> None:
    with pytest.raises(ValueError, match="9 bytes cannot be decoded"):
        decode_animation(b"not a gif")
    frame = np.zeros((2, 2, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match="at least one frame"):
        Flipbook((), ())
    with pytest.raises(ValueError, match="durations_ms has 1 entries for 2 frames"):
        Flipbook((frame, frame), (100,))
    with pytest.raises(ValueError, match="differ in size"):
        Flipbook((frame, np.zeros((3, 2, 4), dtype=np.uint8)), (1, 1))


# --- the preview pane: playing and stopping ------------------------------------------------


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield PreviewPane(GraphicsMode.HALFCELL)


def _book() -> Flipbook:
    sheet, atlas = _sheet()
    frames, durations = preview_frames(sheet, atlas)
    return Flipbook(tuple(frames), tuple(durations))


def _shown(pane: PreviewPane) -> list[Any]:
    assert isinstance(pane.image, HalfCellImage)
    shown: list[Any] = pane.image.rgba.tolist()
    return shown


async def test_each_timer_callback_shows_the_next_frame_and_loops() -> None:
    app, book = _Host(), _book()
    async with app.run_test():
        pane = app.query_one(PreviewPane)
        await pane.show("walk", None, book)
        assert pane.frame_index == 0 and _shown(pane) == book.frames[0].tolist()
        assert pane.timer is not None
        pane.timer.pause()  # the test steps the frames itself
        for step in (1, 2, 3, 0, 1):
            await pane.next_frame()
            assert pane.frame_index == step and _shown(pane) == book.frames[step].tolist()
        await pane.show("walk, caption only", None, book)  # the same book keeps its place
        assert pane.frame_index == 1


async def test_a_still_image_stops_the_animation() -> None:
    app, book = _Host(), _book()
    async with app.run_test():
        pane = app.query_one(PreviewPane)
        await pane.show("walk", None, book)
        still = np.full((2, 2, 4), 255, dtype=np.uint8)
        await pane.show("sprite", _png(still))
        assert pane.flipbook is None and pane.timer is None and _shown(pane) == still.tolist()
        await pane.next_frame()  # a late tick after the switch changes nothing
        assert _shown(pane) == still.tolist()


class _KittyHost(App[None]):
    def compose(self) -> ComposeResult:
        yield PreviewPane(GraphicsMode.KITTY)


async def test_terminal_graphics_swap_the_frame_in_one_image_widget() -> None:
    app, book = _KittyHost(), _book()
    async with app.run_test() as pilot:
        pane = app.query_one(PreviewPane)
        await pane.show("walk", None, book)
        assert pane.timer is not None
        pane.timer.pause()
        (widget,) = pane.query(".preview-graphic")
        await pane.next_frame()
        await pilot.pause()
        assert list(pane.query(".preview-graphic")) == [widget]  # no remount per frame
        shown = np.asarray(widget.image)  # type: ignore[attr-defined]
        factor = shown.shape[0] // book.frames[1].shape[0]
        assert shown[::factor, ::factor].tolist() == book.frames[1].tolist()


@pytest.mark.slow  # 7 s of wall clock; the pilot tests above step the same player deterministically
async def test_the_real_timer_advances_frames_at_their_durations() -> None:
    frame = [np.full((1, 1, 4), v, dtype=np.uint8) for v in (10, 20)]
    app, book = _Host(), Flipbook(tuple(frame), (10, 10))
    async with app.run_test() as pilot:
        pane = app.query_one(PreviewPane)
        await pane.show("blink", None, book)
        seen = {pane.frame_index}
        deadline = time.monotonic() + 30  # only a bound; the loop ends when both are seen
        while seen != {0, 1}:
            assert time.monotonic() < deadline, "the frame timer never fired"
            await pilot.pause(0.01)
            seen.add(pane.frame_index)


# --- the app against a real bridge ---------------------------------------------------------


def _app(config: BridgeConfig) -> PixelsApp:
    client = DaemonClient(config.router, config.pub, timeout_s=2.0)
    return PixelsApp(client, GraphicsMode.HALFCELL, silence_s=1.0, retry_s=0.1)


async def _until(pilot: Pilot[Any], cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.05)


def _finish(store_service: Any, tmp: Path, prompt: str, **files: Path) -> str:
    """Submit a job and run it to success with `files` on its sprite's record."""
    job = store_service.submit(GenerationRequest(prompt=prompt, seed=1))[0]
    record = SpriteFiles(
        str(files["sprite"]),
        str(tmp / "x.json"),
        **{k: str(v) for k, v in files.items() if k != "sprite"},
    )
    store_service.run(job.id, steps=1, sprite=files["sprite"], files=record)
    return str(job.id)


async def _picked(
    app: PixelsApp,
    pilot: Pilot[Any],
    job_id: str,
    ready: Callable[[PreviewPane], bool],
    timeout_s: float = 10.0,
) -> PreviewPane:
    """Wait for the job's thumbnail, pick it with enter and wait until the preview is `ready`."""
    await _until(pilot, lambda: app.query_one(Gallery).shown() == [job_id], timeout_s)
    app.query_one(Thumb).focus()
    await pilot.press("enter")
    pane = app.query_one(PreviewPane)
    await _until(pilot, lambda: ready(pane))
    return pane


async def test_a_finished_sheet_plays_in_the_preview_at_the_atlas_durations(
    bridge: ZmqBridge, store_service: Any, tmp_path: Path
) -> None:
    sheet, atlas = _sheet()
    (tmp_path / "walk.png").write_bytes(_png(sheet))
    (tmp_path / "walk.gif").write_bytes(preview_gif(sheet, atlas, scale=4))
    expected, _ = preview_frames(sheet, atlas)
    app = _app(bridge.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.connected)
        job_id = _finish(
            store_service,
            tmp_path,
            "walk",
            sprite=tmp_path / "walk.png",
            animation=tmp_path / "walk.gif",
        )
        pane = await _picked(app, pilot, job_id, lambda p: p.flipbook is not None)
        assert pane.flipbook is not None and pane.flipbook.durations_ms == DURATIONS
        assert pane.timer is not None
        pane.timer.pause()
        start = pane.frame_index
        for step in range(1, 6):
            await pane.next_frame()
            index = (start + step) % 4
            assert pane.frame_index == index and _shown(pane) == expected[index].tolist()
        thumb = app.query_one(Thumb)  # the gallery's thumbnail walks too
        assert thumb.flipbook is pane.flipbook and thumb.timer is not None
        thumb.timer.pause()
        shown = thumb.frame_index
        await thumb.next_frame()
        assert isinstance(thumb.content, HalfCellImage)
        assert thumb.content.rgba.tolist() == expected[(shown + 1) % 4].tolist()


async def test_a_finished_tileset_is_shown_tiled_in_the_gallery_and_preview(
    bridge: ZmqBridge, store_service: Any, tmp_path: Path
) -> None:
    tile = np.zeros((4, 4, 4), dtype=np.uint8)
    tile[..., 3] = 255
    tile[0, :, :3] = (0, 160, 0)
    tiled = np.tile(tile, (3, 3, 1))
    (tmp_path / "grass.png").write_bytes(_png(tile))
    (tmp_path / "grass_tiled.png").write_bytes(_png(tiled))
    app = _app(bridge.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.connected)
        job_id = _finish(
            store_service,
            tmp_path,
            "grass",
            sprite=tmp_path / "grass.png",
            tiled_preview=tmp_path / "grass_tiled.png",
        )
        pane = await _picked(
            app, pilot, job_id, lambda p: p.image is not None and p.image.rgba.shape[0] == 12
        )
        assert pane.flipbook is None and _shown(pane) == tiled.tolist()
        thumb = app.query_one(Thumb)
        assert isinstance(thumb.content, HalfCellImage)
        assert thumb.content.rgba.tolist() == tiled.tolist()


async def test_a_missing_animation_leaves_the_still_sheet(
    bridge: ZmqBridge, store_service: Any, tmp_path: Path
) -> None:
    sheet, _ = _sheet()
    (tmp_path / "walk.png").write_bytes(_png(sheet))
    app = _app(bridge.config)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.connected)
        job_id = _finish(
            store_service,
            tmp_path,
            "walk",
            sprite=tmp_path / "walk.png",
            animation=tmp_path / "gone.gif",
        )
        pane = await _picked(app, pilot, job_id, lambda p: p.image is not None)
        assert job_id not in app.animations and app.outputs[job_id] == _png(sheet)
        assert pane.flipbook is None and _shown(pane) == sheet.tolist()
        assert app.connected  # the refused fetch is not a daemon outage


@pytest.mark.slow  # ~20 s on 2 cores: the daemon's own engine renders the 4-frame sheet
async def test_a_real_sheet_job_plays_in_the_preview_of_the_tui(
    real_bridge: ZmqBridge, real_service: Any, bridge_settings: Any
) -> None:
    from orchestrator.service.sheet_request import sheet_request

    fast = {"steps": 2, "width": 64, "height": 64, "checkpoint": "tiny_sdxl.safetensors"}
    request = sheet_request(
        "a knight", directions="down,left", frames=2, frame_ms=150, seed=5, params=fast
    )
    client = DaemonClient(bridge_settings.zmq_router, bridge_settings.zmq_pub, timeout_s=20)
    app = PixelsApp(client, GraphicsMode.HALFCELL)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.connected)
        (job,) = real_service.submit(request)
        real_service.start()
        pane = await _picked(app, pilot, job.id, lambda p: p.flipbook is not None, timeout_s=240)
        done = real_service.get_job(job.id)
        assert done.files[0].animation is not None
        book = pane.flipbook
        assert book is not None and book.durations_ms == (150, 150)  # two walk frames
        with Image.open(done.files[0].sprite) as sheet:  # frames at the sheet's scale
            cell_h = sheet.height // 2
        assert book.frames[0].shape[0] == cell_h
        assert pane.timer is not None
        pane.timer.pause()
        first = pane.frame_index
        await pane.next_frame()
        assert pane.frame_index == (first + 1) % 2
