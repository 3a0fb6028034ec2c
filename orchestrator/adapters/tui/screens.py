"""Secondary screens: keyboard help and the side-by-side model / LoRA comparison."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, SelectionList, Static

from orchestrator.adapters.tui.graphics import GraphicsMode
from orchestrator.adapters.tui.widgets import PreviewPane, StepBar
from orchestrator.bounds import check_seed, parse_size
from orchestrator.errors import InvalidRequest
from orchestrator.wire.zmq_protocol import WireCompareVariant, WireJob, WireLora

__all__ = ["HELP_KEYS", "CompareScreen", "HelpScreen"]

HELP_KEYS: tuple[tuple[str, str], ...] = (
    ("enter", "in the prompt: generate with the picked template, model, LoRA, palette, size"),
    ("/", "jump to the prompt"),
    ("up / down", "move through the jobs; the preview follows"),
    ("c", "cancel the selected job"),
    ("r", "retry the selected (failed or cancelled) job"),
    ("m", "compare one prompt and seed across 2-4 models or LoRAs"),
    ("g", "jump to the gallery of recent sprites (enter shows one)"),
    ("t", "training screen of the selected (or newest) LoRA run: loss, samples, c cancels"),
    ("?", "this help"),
    ("escape", "leave the prompt / close a screen"),
    ("q", "quit (jobs keep running in the daemon)"),
)


class HelpScreen(ModalScreen[None]):
    """Every key binding, on top of the main screen."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        table = Table(title="DGX-Pixels keys", show_header=False, box=None)
        for key, what in HELP_KEYS:
            table.add_row(f"[b]{key}[/b]", what)
        yield Static(table, id="help-table")


class ComparePane(Vertical):
    """One variant's column: label, progress and image."""

    def __init__(self, label: str, graphics: GraphicsMode) -> None:
        super().__init__(classes="compare-pane")
        self.label = label
        self.graphics = graphics
        self.job: WireJob | None = None

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="compare-label")
        yield StepBar()
        yield PreviewPane(self.graphics)

    def show(self, job: WireJob) -> None:
        """Follow the job's progress."""
        self.job = job
        value, maximum = job.progress
        bar = self.query_one(StepBar)
        if job.state == "succeeded":
            bar.set(1, 1)
        elif maximum:
            bar.set(value, maximum)
        self.query_one(".compare-label", Label).update(f"{self.label} — {job.state}", layout=False)


class CompareScreen(Screen[None]):
    """Pick 2–4 checkpoints / LoRAs, run one prompt and seed on each, see them side by side."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    class Requested(Message):
        """The user asked for a comparison (the app sends it to the daemon)."""

        def __init__(
            self,
            prompt: str,
            seed: int,
            variants: list[WireCompareVariant],
            params: dict[str, Any] | None = None,
        ) -> None:
            super().__init__()
            self.prompt = prompt
            self.seed = seed
            self.variants = variants
            self.params = params or {}

    def __init__(
        self,
        models: list[str],
        loras: list[str],
        graphics: GraphicsMode,
        prompt: str = "",
        base_model: str | None = None,
    ) -> None:
        super().__init__()
        self.base_model = base_model  # LoRA columns run on it (the template default may be absent)
        self.models = models
        self.loras = loras
        self.graphics = graphics
        self.initial_prompt = prompt
        self.panes: dict[str, ComparePane] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-form"):
            yield Input(self.initial_prompt, placeholder="prompt", id="compare-prompt")
            with Horizontal(id="compare-knobs"):
                yield Input("0", placeholder="seed", id="compare-seed", type="integer")
                yield Input("", placeholder="steps (default)", id="compare-steps", type="integer")
                # Blank renders at the template's 1024x1024: minutes per column on a CPU.
                yield Input("", placeholder="render WxH (default 1024x1024)", id="compare-render")
            choices = [(f"model  {m}", f"ckpt:{m}") for m in self.models]
            choices += [(f"LoRA   {name}", f"lora:{name}") for name in self.loras]
            yield SelectionList[str](*choices, id="compare-choices")
            yield Button("Compare", id="compare-go", variant="primary")
            yield Label("", id="compare-error")
        yield Horizontal(id="compare-results")
        yield Footer()

    def variants(self) -> list[WireCompareVariant]:
        """The chosen columns, in the list's order."""
        chosen = self.query_one(SelectionList).selected
        out = []
        for value in chosen:
            kind, _, name = value.partition(":")
            if kind == "ckpt":
                out.append(WireCompareVariant(label=name, checkpoint=name))
            else:
                lora = [WireLora(name=name)]
                out.append(WireCompareVariant(label=name, checkpoint=self.base_model, loras=lora))
        return out

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "compare-go":
            self._request()

    def on_input_submitted(self) -> None:
        self._request()

    def _request(self) -> None:
        error = self.query_one("#compare-error", Label)
        prompt = self.query_one("#compare-prompt", Input).value.strip()
        variants = self.variants()
        if not prompt:
            error.update("Type a prompt first.")
        elif not 2 <= len(variants) <= 4:
            error.update(f"Pick 2 to 4 models or LoRAs (picked {len(variants)}).")
        else:
            try:
                seed, params = self._knobs()
            except InvalidRequest as exc:
                error.update(str(exc))
                return
            error.update("")
            self.post_message(self.Requested(prompt, seed, variants, params))

    def _knobs(self) -> tuple[int, dict[str, Any]]:
        """Seed and template params from the form (raises `InvalidRequest` naming the field)."""
        seed_text = self.query_one("#compare-seed", Input).value.strip() or "0"
        steps_text = self.query_one("#compare-steps", Input).value.strip()
        render_text = self.query_one("#compare-render", Input).value.strip()
        params: dict[str, Any] = {}
        if steps_text:
            params["steps"] = _integer(steps_text, "steps")  # the template checks its range
        if render_text:
            params["width"], params["height"] = parse_size(render_text, "render")
        return check_seed(_integer(seed_text, "seed")), params

    async def show_jobs(self, labels: list[str], jobs: list[WireJob]) -> None:
        """Lay out one column per job."""
        results = self.query_one("#compare-results", Horizontal)
        await results.remove_children()
        self.panes = {}
        for label, job in zip(labels, jobs, strict=False):
            pane = ComparePane(label, self.graphics)
            await results.mount(pane)
            # Only now may job events reach it: before its children are mounted, show()
            # found no StepBar (NoMatches) when an event raced the mount.
            self.panes[job.id] = pane
            pane.show(job)

    async def update_job(self, job: WireJob, png: bytes | None = None) -> None:
        """Progress for a column; its image once the sprite is there."""
        pane = self.panes.get(job.id)
        if pane is None:
            return
        pane.show(job)
        if png is not None:
            await pane.query_one(PreviewPane).show(f"seed {job.seed}", png)


def _integer(text: str, field_name: str) -> int:
    try:
        return int(text)
    except ValueError as exc:  # an integer Input still lets a lone "-" through
        raise InvalidRequest(field_name, text, "must be a whole number") from exc
