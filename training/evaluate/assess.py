"""Every measurement of one base-vs-LoRA evaluation, as one frozen `Evaluation`.

The service runs the generations (one `lora_compare`-style pair per prompt, one seed) and
hands their files here; `assess_row` measures one pair, `Evaluation` holds the rows, the
validation-loss verdict and what was left out, and `Evaluation.summary()` compares the two
sides measure by measure: which way is better is defined once, in `MEASURES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from comfy_nodes.pixel.errors import PixelArtError
from comfy_nodes.pixel.image_io import load_image
from training.errors import EvaluationError
from training.evaluate.convergence import Convergence
from training.evaluate.inputs import HeldOut
from training.evaluate.lpips import LpipsNet
from training.evaluate.pixel_metrics import PixelMetrics, pixel_metrics
from training.evaluate.similarity import Similarity, similarity

__all__ = [
    "LPIPS_NOT_COMPUTED",
    "MEASURES",
    "Evaluation",
    "Generation",
    "GridRow",
    "Measure",
    "MeasureSummary",
    "assess_row",
]

LPIPS_NOT_COMPUTED: Final[str] = (
    "LPIPS not computed: no LPIPS weights were given (--lpips-weights: torchvision's AlexNet "
    "weights and the lpips package's alex.pth); none can be downloaded on this machine, so "
    "no LPIPS figure is shown rather than a made-up one."
)

Better = Literal["higher", "lower", "neither"]


@dataclass(frozen=True)
class Generation:
    """One generated sprite of the grid and its figures.

    Attributes:
        label: `base` or `lora`.
        sprite: The delivered sprite (PNG).
        render: The full-size render it was made from (PNG).
        pixels: Its pixel-art metrics.
        similarity: SSIM/PSNR against the row's held-out image; None without one.
    """

    label: str
    sprite: Path
    render: Path
    pixels: PixelMetrics
    similarity: Similarity | None = None


@dataclass(frozen=True)
class GridRow:
    """One prompt: the base and the LoRA generation with one seed."""

    prompt: str
    seed: int
    base: Generation
    lora: Generation
    reference: Path | None = None


@dataclass(frozen=True)
class Measure:
    """One figure the summary compares: its name, unit, which way is better, its getter."""

    key: str
    title: str
    better: Better
    value: Callable[[Generation], float | None]


def _held_out(generation: Generation, name: Literal["ssim", "psnr", "lpips"]) -> float | None:
    found = generation.similarity
    value = None if found is None else getattr(found, name)
    return None if value is None else float(value)


MEASURES: Final[tuple[Measure, ...]] = (
    Measure("grid_confidence", "grid confidence", "higher", lambda g: g.pixels.grid_confidence),
    Measure("colors", "colour count", "neither", lambda g: float(g.pixels.colors)),
    Measure(
        "palette_distance",
        "palette distance to training set (OKLab)",
        "lower",
        lambda g: g.pixels.palette_distance,
    ),
    Measure(
        "roundtrip_error",
        "pixelize round-trip error (0..255)",
        "lower",
        lambda g: g.pixels.roundtrip_error,
    ),
    Measure("ssim", "SSIM vs held-out", "higher", lambda g: _held_out(g, "ssim")),
    Measure("psnr", "PSNR vs held-out (dB)", "higher", lambda g: _held_out(g, "psnr")),
    Measure("lpips", "LPIPS vs held-out", "lower", lambda g: _held_out(g, "lpips")),
)
"""The figures compared base vs LoRA, in report order (the one list the report reads)."""


@dataclass(frozen=True)
class MeasureSummary:
    """One measure's means over the grid, base and LoRA, and whether the LoRA did better."""

    measure: Measure
    base: float
    lora: float

    @property
    def lora_better(self) -> bool | None:
        """True/False when the measure has a better direction and the sides differ."""
        if self.measure.better == "neither" or self.base == self.lora:
            return None
        return (self.lora > self.base) == (self.measure.better == "higher")


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


@dataclass(frozen=True)
class Evaluation:
    """A whole evaluation: what was compared, the grid rows, the loss verdict, the notes.

    Attributes:
        lora: The LoRA's name.
        checkpoint: The base checkpoint both sides used.
        trigger: The trigger word the prompts carry ("" if none).
        seed: The one seed of every generation.
        rows: One per prompt.
        val_losses: The run's (step, validation loss) pairs.
        convergence: The verdict on them.
        notes: What was not measured and why, in plain words (LPIPS always among them).
        demo: The checkpoint is the tiny random demo model (pictures are meaningless).
    """

    lora: str
    checkpoint: str
    trigger: str
    seed: int
    rows: tuple[GridRow, ...]
    val_losses: tuple[tuple[int, float], ...]
    convergence: Convergence
    notes: tuple[str, ...] = (LPIPS_NOT_COMPUTED,)
    demo: bool = False

    def summary(self) -> list[MeasureSummary]:
        """Each measure with a value on both sides, in `MEASURES` order."""
        out = []
        for measure in MEASURES:
            base = _mean([measure.value(r.base) for r in self.rows])
            lora = _mean([measure.value(r.lora) for r in self.rows])
            if base is not None and lora is not None:
                out.append(MeasureSummary(measure, base, lora))
        return out

    def headline(self) -> str:
        """The one-line verdict the report opens with."""
        directed = [s for s in self.summary() if s.measure.better != "neither"]
        wins = sum(s.lora_better is True for s in directed)
        ties = sum(s.lora_better is None for s in directed)
        tied = f", {ties} tied" if ties else ""
        return (
            f"{self.convergence.verdict}; the LoRA does better than the base model on {wins} "
            f"of {len(directed)} measures{tied}"
        )


def _load(path: Path, field: str) -> NDArray[np.uint8]:
    try:
        return load_image(path)
    except PixelArtError as exc:
        raise EvaluationError(field, str(path), str(exc)) from exc


def _generation(
    label: str,
    files: tuple[Path, Path],
    reference: HeldOut | None,
    training_colors: NDArray[np.uint8] | None,
    lpips: LpipsNet | None,
) -> Generation:
    sprite_path, render_path = files
    sprite = _load(sprite_path, f"{label}.sprite")
    render = _load(render_path, f"{label}.render")
    sim = None if reference is None else similarity(sprite, reference.rgba, lpips)
    return Generation(
        label, sprite_path, render_path, pixel_metrics(render, sprite, training_colors), sim
    )


def assess_row(
    prompt: str,
    seed: int,
    base: tuple[Path, Path],
    lora: tuple[Path, Path],
    reference: HeldOut | None = None,
    training_colors: NDArray[np.uint8] | None = None,
    lpips: LpipsNet | None = None,
) -> GridRow:
    """Measure one prompt's pair.

    Args:
        prompt: What both sides drew.
        seed: Their seed.
        base: (sprite, render) files of the base model's generation.
        lora: (sprite, render) files of the LoRA's generation.
        reference: The held-out image this prompt came from, if any.
        training_colors: [N, 3] colours of the training set, or None.
        lpips: The LPIPS network (user-given weights), or None: no LPIPS figure.

    Raises:
        EvaluationError: A generated file is missing or unreadable (named).
    """
    return GridRow(
        prompt,
        seed,
        _generation("base", base, reference, training_colors, lpips),
        _generation("lora", lora, reference, training_colors, lpips),
        None if reference is None else reference.path,
    )
