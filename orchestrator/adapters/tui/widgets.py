"""The TUI's building blocks: job rows with live progress, the image preview, the gallery.

Widgets only draw what the app hands them (`WireJob`s and image bytes); they never talk to
the daemon.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, HorizontalScroll, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Label, ListItem, ListView, Static

from orchestrator.adapters.tui.flipbook import Flipbook
from orchestrator.adapters.tui.graphics import GraphicsMode, decode_png, enlarge_for_terminal
from orchestrator.adapters.tui.halfcell import RGBA, HalfCellImage
from orchestrator.wire.zmq_protocol import WireJob

__all__ = [
    "FramePlayer",
    "Gallery",
    "JobItem",
    "JobList",
    "PreviewPane",
    "StepBar",
    "Thumb",
    "job_label",
]

_STATE_STYLE = {
    "queued": "dim",
    "submitted": "cyan",
    "running": "bold cyan",
    "succeeded": "green",
    "failed": "bold red",
    "cancelled": "yellow",
}


def job_label(job: WireJob, width: int = 40) -> Text:
    """`state  id  prompt` with the state coloured."""
    text = Text()
    text.append(f"{job.state:<9} ", style=_STATE_STYLE.get(job.state, ""))
    text.append(f"{job.id[:8]} ", style="dim")
    prompt = job.prompt if len(job.prompt) <= width else job.prompt[: width - 1] + "…"
    text.append(prompt)
    if job.error and job.state in ("failed", "cancelled"):
        text.append(f"  {job.error[:60]}", style=_STATE_STYLE[job.state])
    return text


class StepBar(Widget):
    """A one-line progress bar that repaints itself only (no layout pass per update).

    Textual's `ProgressBar` relayouts its percentage label on every change; with several
    jobs streaming progress that costs a full layout per event, so rows use this instead.
    """

    DEFAULT_CSS = "StepBar { height: 1; width: 24; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = 0
        self.total: int | None = 0
        self.outcome: str | None = None  # "failed"/"cancelled": shown instead of a percentage

    @property
    def fraction(self) -> float | None:
        """Done fraction 0..1, or None while indeterminate."""
        if self.total is None:
            return None
        return (
            1.0
            if self.total == 0 and self.value
            else (self.value / self.total if self.total else 0.0)
        )

    def set(self, value: int, total: int | None, outcome: str | None = None) -> None:
        """New progress (or the outcome of a job that ended unfinished); repaints only when
        it changed."""
        if (value, total, outcome) != (self.value, self.total, self.outcome):
            self.value, self.total, self.outcome = value, total, outcome
            self.refresh()

    def render(self) -> Text:
        width = max(4, self.size.width - 8)
        if self.outcome is not None:  # where it stopped, and why, never a percentage
            stopped = round((self.fraction or 0.0) * width)
            text = Text("━" * stopped, style="grey50")
            text.append("╌" * (width - stopped), style="grey30")
            text.append(f" {self.outcome}", style=_STATE_STYLE.get(self.outcome, ""))
            return text
        fraction = self.fraction
        if fraction is None:
            return Text("┄" * width + "   …", style="cyan")
        filled = round(fraction * width)
        text = Text("━" * filled, style="green" if fraction >= 1 else "cyan")
        text.append("━" * (width - filled), style="grey30")
        text.append(f" {int(fraction * 100):>3}%", style="dim")
        return text


class JobItem(ListItem):
    """One job: label and a progress bar, updated in place as events arrive."""

    def __init__(self, job: WireJob) -> None:
        super().__init__(id=f"job-{job.id}")
        self.job = job
        self._label_key: tuple[Any, ...] = ()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="job-row"):
            yield Label(job_label(self.job), classes="job-label")
            yield StepBar(classes="job-progress")

    def on_mount(self) -> None:
        self.show(self.job)

    def show(self, job: WireJob) -> None:
        """Redraw for a newer version of the job (the label only when its text changes)."""
        self.job = job
        try:
            label, bar = self.query_one(".job-label", Label), self.query_one(StepBar)
        except NoMatches:  # inserted but not composed yet: on_mount draws self.job
            return
        key = (job.state, job.prompt, job.error)
        if key != self._label_key:
            self._label_key = key
            label.update(job_label(job), layout=False)
        value, maximum = job.progress
        if job.state == "succeeded":
            bar.set(1, 1)
        elif job.state in ("failed", "cancelled"):
            bar.set(value, maximum or None, outcome=str(job.state))
        elif maximum > 0:
            bar.set(value, maximum)
        else:
            bar.set(0, None if job.state in ("submitted", "running") else 1)


class JobList(ListView):
    """Jobs newest first.

    Args:
        on_cursor: Called at once (same frame) with the job the cursor moved to, so the
            caption beside the list changes together with the highlight.
    """

    def __init__(self, *, on_cursor: Callable[[WireJob], None] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.on_cursor = on_cursor

    def watch_index(self, old_index: int | None, new_index: int | None) -> None:
        super().watch_index(old_index, new_index)
        job = self.selected_job()
        if job is not None and self.on_cursor is not None:
            self.on_cursor(job)

    def items(self) -> dict[str, JobItem]:
        """Rows by job id."""
        return {item.job.id: item for item in self.query(JobItem)}

    def row(self, job_id: str) -> JobItem | None:
        """The row of one job (a cached lookup: progress events arrive many times a second)."""
        try:
            return self.query_one(f"#job-{job_id}", JobItem)
        except NoMatches:
            return None

    def selected_job(self) -> WireJob | None:
        """The highlighted job, if any."""
        item = self.highlighted_child
        return item.job if isinstance(item, JobItem) else None

    async def sync(self, jobs: list[WireJob]) -> None:
        """Make the rows match `jobs` (newest first): update, add, remove."""
        rows = self.items()
        wanted = {job.id for job in jobs}
        stale = [row for job_id, row in rows.items() if job_id not in wanted]
        if stale:
            await self.remove_items([self.children.index(row) for row in stale])
        new = [JobItem(job) for job in jobs if job.id not in rows]
        if new:
            await self.insert(0, new)
        for job in jobs:
            row = rows.get(job.id)
            if row is not None and row.job != job:
                row.show(job)
        if self.index is None and jobs:
            self.index = 0

    def update_job(self, job: WireJob) -> bool:
        """Update one row in place; False if the job has no row yet."""
        row = self.row(job.id)
        if row is None:
            return False
        row.show(job)
        return True


class FramePlayer(Widget):
    """Plays a `Flipbook`: each frame in turn for its own duration, on a Textual timer.

    Mixed into the widgets that show animation sheets; each draws a frame its own way
    (`draw_frame`).
    """

    flipbook: Flipbook | None = None  # the animation playing, if any
    frame_index = 0  # the flipbook's frame on screen
    timer: Timer | None = None  # shows the next frame when it fires

    async def draw_frame(self, rgba: RGBA, *, first: bool) -> None:
        """Draw one frame (`first`: the animation's first, drawn from scratch)."""
        raise NotImplementedError

    async def play(self, animation: Flipbook) -> None:
        """Start playing `animation` from its first frame (unless it is already playing)."""
        if animation is self.flipbook:
            return
        self.stop_playing()
        self.flipbook, self.frame_index = animation, 0
        await self.draw_frame(animation.frames[0], first=True)
        self._schedule()

    def stop_playing(self) -> None:
        """Stop the animation (its last frame stays until something else is drawn)."""
        if self.timer is not None:
            self.timer.stop()
        self.timer, self.flipbook, self.frame_index = None, None, 0

    def _schedule(self) -> None:
        book = self.flipbook
        if book is not None and len(book.frames) > 1:
            self.timer = self.set_timer(book.delay_s(self.frame_index), self.next_frame)

    async def next_frame(self) -> None:
        """Show the animation's next frame (looping) and time the one after it: the
        timer's callback, one frame per call."""
        book = self.flipbook
        if book is None:
            return
        self.frame_index = (self.frame_index + 1) % len(book.frames)
        await self.draw_frame(book.frames[self.frame_index], first=False)
        self._schedule()


class PreviewPane(Vertical, FramePlayer):
    """The selected sprite, drawn with the detected graphics mode; an animation sheet's
    frames play in turn, each for its own duration."""

    def __init__(self, graphics: GraphicsMode, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.graphics = graphics
        self.image: HalfCellImage | None = None
        self._png: bytes | None = None

    def compose(self) -> ComposeResult:
        yield Label("No sprite selected", classes="preview-caption")
        yield Static("", classes="preview-body")

    def caption(self, text: str) -> None:
        """Change only the caption line."""
        self.query_one(".preview-caption", Label).update(text, layout=False)

    async def show(
        self, caption: str, png: bytes | None, animation: Flipbook | None = None
    ) -> None:
        """Show an image (or only the caption when `png` is None or unreadable), or play
        `animation` when one is given (`png` is then unused)."""
        self.caption(caption)
        if animation is not None:
            self._png = None
            await self.play(animation)
            return
        if png == self._png and self.flipbook is None:  # same picture: only the caption
            return
        self.stop_playing()
        self._png = png
        body = self.query_one(".preview-body", Static)
        # The body's size comes from the layout, never from its content: skip relayouts.
        if png is None:
            await self._clear()
            body.update("", layout=False)
            return
        try:
            rgba = decode_png(png)
        except ValueError as exc:
            await self._clear()
            body.update(Text(str(exc), style="red"), layout=False)
            return
        await self._draw(rgba, fresh=True)

    async def _clear(self) -> None:
        graphics = self.query(".preview-graphic")
        if graphics:
            await graphics.remove()
        self.image = None

    async def _draw(self, rgba: RGBA, *, fresh: bool) -> None:
        """Draw one picture; `fresh=False` reuses a terminal-graphics widget in place (an
        animation's next frame)."""
        body = self.query_one(".preview-body", Static)
        if self.graphics in (GraphicsMode.KITTY, GraphicsMode.SIXEL):
            graphics = self.query(".preview-graphic")
            if graphics and not fresh:
                graphics.first().image = enlarge_for_terminal(rgba)  # type: ignore[attr-defined]
                return
            await self._clear()
            body.update("", layout=False)
            await self.mount(_terminal_image(self.graphics, enlarge_for_terminal(rgba)))
            return
        if fresh:
            await self._clear()
        self.image = HalfCellImage(rgba)
        body.update(self.image, layout=False)

    async def draw_frame(self, rgba: RGBA, *, first: bool) -> None:
        await self._draw(rgba, fresh=first)


def _terminal_image(mode: GraphicsMode, image: Any) -> Widget:
    from textual_image.widget import SixelImage, TGPImage

    cls = SixelImage if mode is GraphicsMode.SIXEL else TGPImage
    return cls(image, classes="preview-graphic")


_THUMB_BOX = {"max_cols": 12, "max_rows": 6}


class Thumb(Static, FramePlayer, can_focus=True):
    """A small image of one finished job in the gallery; an animation sheet's plays."""

    class Picked(Message):
        """The user chose this thumbnail."""

        def __init__(self, job_id: str) -> None:
            super().__init__()
            self.job_id = job_id

    def __init__(self, job: WireJob, png: bytes, animation: Flipbook | None = None) -> None:
        super().__init__(HalfCellImage(decode_png(png), **_THUMB_BOX), classes="thumb")
        self.job_id = job.id
        self.tooltip = job.prompt
        self.animation = animation

    async def on_mount(self) -> None:
        if self.animation is not None:  # an animation sheet walks in the gallery too
            await self.play(self.animation)

    async def draw_frame(self, rgba: RGBA, *, first: bool) -> None:
        self.update(HalfCellImage(rgba, **_THUMB_BOX), layout=first)

    def on_click(self) -> None:
        self.post_message(self.Picked(self.job_id))

    def key_enter(self) -> None:
        self.post_message(self.Picked(self.job_id))


class Gallery(HorizontalScroll):
    """Recent outputs, newest first."""

    def shown(self) -> list[str]:
        """Job ids in display order."""
        return [thumb.job_id for thumb in self.query(Thumb)]

    async def add(
        self, job: WireJob, png: bytes, limit: int = 12, animation: Flipbook | None = None
    ) -> None:
        """Put a finished job first (playing `animation`, if given); keep at most `limit`
        thumbnails."""
        if job.id in self.shown():
            return
        try:
            thumb = Thumb(job, png, animation)
        except ValueError:
            return  # an unreadable image has no thumbnail; the preview says why
        await self.mount(thumb, before=0 if self.children else None)
        for extra in list(self.query(Thumb))[limit:]:
            await extra.remove()
