"""`PixelsApp`: the Textual terminal UI of the daemon.

All daemon I/O is asyncio on ZeroMQ (`DaemonClient`) inside Textual workers, so the UI
never waits on the GPU. A sync worker keeps `JobBook` consistent with the daemon using the
snapshot + seq rules of `docs/zmq-protocol.md`, shows when the daemon is down, and
reconnects by itself when it comes back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, ListView, Select, Static

from orchestrator.adapters.tui.book import Applied, JobBook
from orchestrator.adapters.tui.daemon_client import DaemonClient
from orchestrator.adapters.tui.errors import DaemonRefused, DaemonUnavailable, TuiError
from orchestrator.adapters.tui.figures import FiguresPanel
from orchestrator.adapters.tui.flipbook import Flipbook
from orchestrator.adapters.tui.graphics import GraphicsMode
from orchestrator.adapters.tui.job_media import fetch_media
from orchestrator.adapters.tui.screens import CompareScreen, HelpScreen
from orchestrator.adapters.tui.training import TrainingScreen
from orchestrator.adapters.tui.widgets import Gallery, JobItem, JobList, PreviewPane, Thumb
from orchestrator.wire.zmq_protocol import (
    CancelRequest,
    CompareRequest,
    ListLorasRequest,
    ListModelsRequest,
    ListPalettesRequest,
    ListTemplatesRequest,
    PingRequest,
    RetryRequest,
    SnapshotRequest,
    SubmitRequest,
    TrainingStatusRequest,
    WireJob,
    WireLora,
)

__all__ = ["JOB_ROWS", "SIZE_CHOICES", "PixelsApp"]

logger = logging.getLogger(__name__)

JOB_ROWS = 100  # rows in the job list: a snapshot can hold 500 jobs, widgets cost time
SIZE_CHOICES: tuple[str, ...] = ("auto", "16x16", "24x24", "32x32", "48x48", "64x64", "128x128")


class PixelsApp(App[None]):
    """Prompt, pickers, live job list, preview, gallery and comparison over ZeroMQ.

    Args:
        client: The daemon connection (the app closes it on exit).
        graphics: How to draw images (see `orchestrator.adapters.tui.graphics.detect_graphics`).
        silence_s: No event or heartbeat for this long means the daemon is down.
        retry_s: Pause between reconnection attempts.
        figures_s: Seconds between refreshes of the status panel (GPU, VRAM, img/min).
    """

    CSS_PATH = "app.tcss"
    TITLE = "DGX-Pixels"
    # Installed screens are built once and kept, so `?` opens help without recomposing it.
    SCREENS: ClassVar[dict[str, Callable[[], Screen[Any]]]] = {"help": HelpScreen}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("slash", "focus_prompt", "Prompt"),
        Binding("c", "cancel_job", "Cancel"),
        Binding("r", "retry_job", "Retry"),
        Binding("m", "compare", "Compare"),
        Binding("g", "gallery", "Gallery"),
        Binding("t", "training", "Training"),
        Binding("escape", "focus_jobs", "Jobs", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        client: DaemonClient,
        graphics: GraphicsMode = GraphicsMode.HALFCELL,
        silence_s: float = 3.0,
        retry_s: float = 1.0,
        figures_s: float = 2.0,
    ) -> None:
        super().__init__()
        self.client = client
        self.graphics = graphics
        self.silence_s = silence_s
        self.retry_s = retry_s
        self.figures_s = figures_s
        self.book = JobBook()
        self.outputs: dict[str, bytes] = {}  # each finished job's still picture
        self.animations: dict[str, Flipbook] = {}  # animation sheets' frames, by job id
        self.models: list[str] = []
        self.loras: list[str] = []
        self.connected = False
        self.pickers_loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("connecting…", id="status")
        yield FiguresPanel(id="figures")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="Describe a sprite, press enter", id="prompt")
                with Grid(id="pickers"):
                    yield Select(
                        [("single_sprite", "single_sprite")],
                        id="template",
                        value="single_sprite",
                        allow_blank=False,
                        compact=True,
                    )
                    yield Select[str]([], prompt="model", id="model", compact=True)
                    yield Select[str]([], prompt="LoRA", id="lora", compact=True)
                    yield Select[str]([], prompt="palette", id="palette", compact=True)
                    yield Select(
                        [(f"size {s}", s) for s in SIZE_CHOICES],
                        id="size",
                        value="auto",
                        allow_blank=False,
                        compact=True,
                    )
                yield JobList(id="jobs", on_cursor=self._cursor_moved)
            with Vertical(id="right"):
                yield PreviewPane(self.graphics, id="preview")
                yield Gallery(id="gallery")
        yield Footer()

    def on_mount(self) -> None:
        self.sync_forever()
        self.poll_figures()

    async def on_unmount(self) -> None:
        await self.client.close()

    # --- keeping in sync with the daemon ---------------------------------------------------

    @work(group="sync", exclusive=True)
    async def sync_forever(self) -> None:
        """Snapshot, follow events, and start again on a gap or when the daemon is back."""
        while True:
            try:
                await self._reconcile()
                await self._follow_events()
            except DaemonUnavailable as exc:
                if self.client.closed:  # the app is unmounting: nothing left to show
                    return
                self._set_connected(False, str(exc))
                await asyncio.sleep(self.retry_s)
            except DaemonRefused as exc:  # a daemon that refuses snapshots: say so, keep trying
                self._set_connected(False, exc.message)
                await asyncio.sleep(self.retry_s)

    @work(group="figures", exclusive=True)
    async def poll_figures(self) -> None:
        """Refresh the status panel from a `ping` every `figures_s` while connected."""
        while not self.client.closed:
            await asyncio.sleep(self.figures_s)
            if not self.connected:
                continue
            try:
                pong, _ = await self.client.request(PingRequest())
            except TuiError:  # the sync worker notices and shows the daemon down
                continue
            for panel in self.query(FiguresPanel):  # none once the app is closing
                panel.show(pong.status)

    async def _reconcile(self) -> None:
        # While disconnected, first prove the subscription is live (docs/zmq-protocol.md §9).
        if not self.connected and await self.client.next_event(self.silence_s) is None:
            raise DaemonUnavailable(
                f"no heartbeat from {self.client.pub}; start the daemon with `dgx-pixels serve`"
            )
        snapshot, _ = await self.client.request(SnapshotRequest())
        restarted = self.book.epoch != snapshot.epoch
        self.book.load(snapshot)
        self.query_one(FiguresPanel).show(snapshot.status)
        await self.query_one(JobList).sync(self.book.ordered()[:JOB_ROWS])
        self._set_connected(True, f"epoch {snapshot.epoch}, {len(snapshot.jobs)} jobs")
        if restarted or not self.pickers_loaded:  # a failed load is retried next time
            self.pickers_loaded = False
            await self._load_pickers()
            for job in reversed(self.book.recent_outputs()):
                await self._fetch_output(job)

    async def _follow_events(self) -> None:
        while True:
            got = await self.client.next_event(self.silence_s)
            if got is None:
                raise DaemonUnavailable(f"the daemon went silent for {self.silence_s:g}s")
            event, image = got
            applied = self.book.apply(event, image)
            if applied is Applied.GAP:
                return
            if applied is Applied.APPLIED:
                await self._on_job_event(event.type, event.job, image)
                if isinstance(self.screen, TrainingScreen):
                    await self.screen.show_event(event, image)

    async def _on_job_event(self, kind: str, job: WireJob, image: bytes | None) -> None:
        jobs = self.query_one(JobList)
        if not jobs.update_job(job):
            await jobs.sync(self.book.ordered()[:JOB_ROWS])
        if kind == "job_succeeded":
            await self._fetch_output(job)
        selected = jobs.selected_job()
        if selected is not None and selected.id == job.id:
            if kind in ("job_preview", "job_succeeded"):
                await self._show(job, image)
            else:  # progress: the caption changes, the picture does not
                self.query_one(PreviewPane).caption(_caption(job))
        if isinstance(self.screen, CompareScreen):
            await self.screen.update_job(job, self.outputs.get(job.id))

    async def _catalog(self, request: Any) -> Any:
        # A refused listing leaves its picker empty; it does not mean the daemon is down.
        try:
            result, _ = await self.client.request(request)
        except DaemonRefused as exc:
            self.notify(f"{request.type}: {exc.message}", severity="warning")
            return None
        return result

    async def _load_pickers(self) -> None:
        templates = await self._catalog(ListTemplatesRequest())
        template_names = [t.name for t in templates.templates] if templates else []
        if template_names:
            picker = self.query_one("#template", Select)
            picker.set_options([(n, n) for n in template_names])
            if "single_sprite" in template_names:  # set_options jumps to the first one
                picker.value = "single_sprite"
        loras = await self._catalog(ListLorasRequest())
        models = await self._catalog(ListModelsRequest())
        palettes = await self._catalog(ListPalettesRequest())
        self.loras = list(loras.names) if loras else []
        self.models = list(models.names) if models else []
        self.query_one("#lora", Select).set_options([(n, n) for n in self.loras])
        model = self.query_one("#model", Select)
        model.set_options([(n, n) for n in self.models])
        if self.models:  # the template's default checkpoint may not be installed
            model.value = self.models[0]
        names = list(palettes.names) if palettes else []
        self.query_one("#palette", Select).set_options([(n, n) for n in names])
        self.pickers_loaded = True

    async def _fetch_output(self, job: WireJob) -> None:
        if job.id in self.outputs or not job.outputs:
            return
        media = await fetch_media(self.client, job)  # a sheet's animation, a tileset tiled
        if media is None:
            return
        png = self.outputs[job.id] = media.still
        if media.animation is not None:
            self.animations[job.id] = media.animation
        await self.query_one(Gallery).add(job, png, animation=media.animation)
        if isinstance(self.screen, CompareScreen):
            await self.screen.update_job(job, png)

    def _set_connected(self, connected: bool, detail: str) -> None:
        self.connected = connected
        status = self.query_one("#status", Static)
        if connected:
            status.update(f"[green]●[/] daemon {self.client.router} — {detail}", layout=False)
        else:
            text = f"[red]○ daemon down[/] — {detail} — retrying every {self.retry_s:g}s"
            status.update(text, layout=False)
        self.query_one("#main").set_class(not connected, "-down")

    # --- preview ---------------------------------------------------------------------------

    async def _show(self, job: WireJob, live: bytes | None = None) -> None:
        png = self.outputs.get(job.id) or live or self.book.previews.get(job.id)
        await self.query_one(PreviewPane).show(_caption(job), png, self.animations.get(job.id))

    def _cursor_moved(self, job: WireJob) -> None:
        # The caption follows in the same frame as the highlight; the picture right after.
        self.query_one(PreviewPane).caption(_caption(job))

    async def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        job = self.query_one(JobList).selected_job()
        if job is not None:
            await self._show(job)

    async def on_thumb_picked(self, message: Thumb.Picked) -> None:
        jobs = self.query_one(JobList)
        ids = [item.job.id for item in jobs.query(JobItem)]
        if message.job_id in ids:
            jobs.index = ids.index(message.job_id)
        job = self.book.jobs.get(message.job_id)
        if job is not None:
            await self._show(job)

    # --- actions ---------------------------------------------------------------------------

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "prompt" and event.value.strip():
            self.submit_prompt(event.value.strip())

    def _picked(self, select_id: str) -> str | None:
        value = self.query_one(f"#{select_id}", Select).value
        return value if isinstance(value, str) else None

    @work(group="requests")
    async def submit_prompt(self, prompt: str) -> None:
        """Send the prompt with the picked template, model, LoRA, palette and size."""
        size = self._picked("size")
        lora = self._picked("lora")
        model = self._picked("model")
        request = SubmitRequest(
            prompt=prompt,
            params={"checkpoint": model} if model else {},
            template=self._picked("template") or "single_sprite",
            loras=[WireLora(name=lora)] if lora else [],
            palette=self._picked("palette"),
            size=tuple(int(v) for v in size.split("x")) if size and size != "auto" else None,  # type: ignore[arg-type]
        )
        result = await self._request(request)
        if result is not None:
            for job in result.jobs:
                self.book.upsert(job)
            await self.query_one(JobList).sync(self.book.ordered()[:JOB_ROWS])
            self.notify(f"queued {len(result.jobs)} job(s)")

    async def _request(self, request: Any) -> Any:
        try:
            result, _ = await self.client.request(request)
        except TuiError as exc:
            self.notify(str(exc), severity="error")
            return None
        return result

    @work(group="requests")
    async def _job_action(self, request: CancelRequest | RetryRequest) -> None:
        result = await self._request(request)
        if result is not None:
            self.book.upsert(result.job)
            self.query_one(JobList).update_job(result.job)

    def action_cancel_job(self) -> None:
        job = self.query_one(JobList).selected_job()
        if job is not None:
            self._job_action(CancelRequest(job_id=job.id))

    def action_cancel_job_id(self, job_id: str) -> None:
        """Cancel one job by id (the training screen's `c`)."""
        self._job_action(CancelRequest(job_id=job_id))

    def action_training(self) -> None:
        """Open the training screen on the selected training job, else the newest one."""
        if isinstance(self.screen, TrainingScreen):
            return
        selected = self.query_one(JobList).selected_job()
        trains = [j for j in self.book.ordered() if j.kind == "train"]
        job = selected if selected is not None and selected.kind == "train" else None
        job = job or (trains[0] if trains else None)
        if job is None:
            self.notify("no training job yet: start one with `dgx-pixels train run`")
            return
        screen = TrainingScreen(job, self.graphics)
        self.push_screen(screen)
        self._load_training(screen)

    @work(group="requests")
    async def _load_training(self, screen: TrainingScreen) -> None:
        result = await self._request(TrainingStatusRequest(job_id=screen.job.id))
        if result is not None and screen.is_attached:
            screen.load(result)

    def action_retry_job(self) -> None:
        job = self.query_one(JobList).selected_job()
        if job is not None:
            self._job_action(RetryRequest(job_id=job.id))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen("help")

    def action_focus_prompt(self) -> None:
        self.query_one("#prompt", Input).focus()

    def action_focus_jobs(self) -> None:
        self.query_one(JobList).focus()

    def action_gallery(self) -> None:
        thumbs = self.query(Thumb)
        if thumbs:
            thumbs.first().focus()

    def action_compare(self) -> None:
        if isinstance(self.screen, CompareScreen):
            return
        prompt = self.query_one("#prompt", Input).value
        base = self._picked("model")
        self.push_screen(CompareScreen(self.models, self.loras, self.graphics, prompt, base))

    @work(group="requests")
    async def on_compare_screen_requested(self, message: CompareScreen.Requested) -> None:
        """Send a comparison and lay its jobs out side by side."""
        request = CompareRequest(
            prompt=message.prompt,
            seed=message.seed,
            variants=message.variants,
            params=message.params,
        )
        result = await self._request(request)
        if result is None or not isinstance(self.screen, CompareScreen):
            return
        for job in result.jobs:
            self.book.upsert(job)
        labels = [v.label or "?" for v in message.variants]
        await self.screen.show_jobs(labels, result.jobs)


def _caption(job: WireJob) -> str:
    value, maximum = job.progress
    return f"{job.id[:8]} {job.state} {value}/{maximum} seed {job.seed} — {job.prompt}"
