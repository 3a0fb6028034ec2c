"""The training screen: one LoRA training run, live — loss sparkline, figures, samples, cancel.

It opens on a `train` job (`t` in the main screen), loads the run's history with a
`training_status` request, then follows the job's `job_progress` events, which the app
hands over as they arrive (`show_event`): each adds its loss to the sparkline and updates
the figures (step, loss, lr, it/s, ETA, validation loss); an event carrying a sample PNG
(its fourth frame) shows that sample. `c` cancels the run, escape goes back.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Label, Sparkline, Static

from orchestrator.adapters.tui.graphics import GraphicsMode
from orchestrator.adapters.tui.widgets import PreviewPane
from orchestrator.wire.train_view import TrainingStatusView, TrainProgressView
from orchestrator.wire.zmq_protocol import JobProgressEvent, WireJob

__all__ = ["MAX_SPARK_POINTS", "TrainingScreen", "figures_line"]

MAX_SPARK_POINTS = 400  # the sparkline keeps the newest losses; older ones scroll out
_BOOK_SYNC_S = 0.5


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def figures_line(report: TrainProgressView | None, job: WireJob) -> str:
    """Step, loss, lr, it/s, ETA and validation loss of the latest report, one line."""
    if report is None:
        return f"{job.state}: waiting for the first step"
    parts = [f"{job.state}", f"step {report.step}/{report.total_steps}"]
    if report.loss is not None:
        parts.append(f"loss {report.loss:.4f}")
    parts.append(f"lr {report.lr:.2g}")
    parts.append(f"{report.it_per_s:.2f} it/s" if report.it_per_s else "- it/s")
    if report.eta_s is not None and not job.state.is_terminal:
        parts.append(f"ETA {_clock(report.eta_s)}")
    if report.val_loss is not None:
        parts.append(f"val {report.val_loss:.4f}")
    if report.message:
        parts.append(report.message)
    return "  ".join(parts)


class TrainingScreen(Screen[None]):
    """One training job, live.

    Args:
        job: The `train` job to follow.
        graphics: How samples are drawn.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_run", "Cancel run"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, job: WireJob, graphics: GraphicsMode) -> None:
        super().__init__()
        self.job = job
        self.graphics = graphics
        self._points: dict[int, float] = {}  # step -> loss: history and events merge by step
        self.latest: TrainProgressView | None = None
        self.samples_shown = 0
        self._sample: tuple[str, bytes] | None = None  # the newest, until it is drawn
        self._ready = False  # set once mounted: its widgets can be queried

    def compose(self) -> ComposeResult:
        with Vertical(id="training"):
            yield Label(self._title(), id="training-title")
            yield Sparkline([], id="training-loss")
            yield Static(figures_line(None, self.job), id="training-figures")
            yield PreviewPane(self.graphics, id="training-sample")
        yield Footer()

    async def on_mount(self) -> None:
        # Events may arrive between push_screen and the first compose: draw what came.
        self._ready = True
        await self._draw_sample()
        self._redraw()
        self.set_interval(_BOOK_SYNC_S, self._sync_from_book)

    def _sync_from_book(self) -> None:
        """Take the job's state from the app's book: after a gap the app reloads a snapshot
        (no event reaches this screen), and a cancel's reply updates the book first."""
        book = getattr(self.app, "book", None)
        known = None if book is None else book.jobs.get(self.job.id)
        if known is not None and known != self.job:
            self.job = known
            self._redraw()

    def _title(self) -> str:
        name = self.job.params.get("name", "?")
        return f"training LoRA {name} — job {self.job.id[:8]} ({self.job.state})"

    @property
    def losses(self) -> list[float]:
        """The newest `MAX_SPARK_POINTS` losses, in step order (what the sparkline draws)."""
        return [self._points[step] for step in sorted(self._points)][-MAX_SPARK_POINTS:]

    def load(self, status: TrainingStatusView) -> None:
        """Merge in the run's history (the `training_status` reply); events that came
        first keep their steps, so a step is never drawn twice."""
        self._points = {**dict(status.losses), **self._points}
        if self.latest is None or (status.latest and status.latest.step >= self.latest.step):
            self.latest = status.latest
            self.job = status.job
        self._redraw()

    async def show_event(self, event: Any, image: bytes | None) -> None:
        """Take one applied event of any job; only this job's change the screen."""
        if getattr(event, "job_id", None) != self.job.id:
            return
        self.job = event.job
        if isinstance(event, JobProgressEvent) and event.train is not None:
            self.latest = event.train
            if event.train.loss is not None:
                self._points[event.train.step] = event.train.loss
                if len(self._points) > 2 * MAX_SPARK_POINTS:  # keep memory bounded
                    self._points = dict(sorted(self._points.items())[-MAX_SPARK_POINTS:])
            if image is not None:
                self._sample = (f"sample at step {event.train.step}", image)
                await self._draw_sample()
        self._redraw()

    async def _draw_sample(self) -> None:
        if self._sample is None or not self._ready:
            return
        caption, image = self._sample
        self._sample = None
        self.samples_shown += 1
        await self.query_one(PreviewPane).show(caption, image)

    def _redraw(self) -> None:
        if not self._ready:  # on_mount draws the state gathered until then
            return
        try:
            self.query_one("#training-title", Label).update(self._title())
            self.query_one(Sparkline).data = self.losses
            self.query_one("#training-figures", Static).update(figures_line(self.latest, self.job))
        except NoMatches:  # the screen is being taken down: nothing left to draw
            return

    def action_cancel_run(self) -> None:
        """Ask the app to cancel this run (the daemon stops it at its next step)."""
        self.app.action_cancel_job_id(self.job.id)  # type: ignore[attr-defined]
