"""Reading an sd-scripts run's progress: its tqdm bar on the console, its TensorBoard events.

The console bar (`train_network.py`: `tqdm(..., desc="steps")` with an `avr_loss` postfix)
gives the step, the moving-average loss, the speed and tqdm's ETA as soon as a step ends:

    steps:  12%|█▏        | 360/3000 [05:12<38:01,  1.16it/s, avr_loss=0.0912]

The bar counts from 0 in a resumed run, so callers add the step the run resumed from. The
TensorBoard events (`log_with = "tensorboard"`) add what the bar leaves out: the learning
rate (`lr/unet`, or `lr/group0`), the loss per step (`loss/average`, `loss/current`) and the
validation loss (`loss/validation/step_average`). A resumed run writes a new events folder;
`read_scalars` merges them all, the later file winning a step.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["BarLine", "TbScalars", "parse_bar", "phase_message", "read_scalars", "split_console"]

log = logging.getLogger(__name__)

_BAR: Final = re.compile(r"^\s*steps:\s*\d+%\|[^|]*\|\s*(\d+)/(\d+)\s*\[([^\]]*)\]")
_RATE: Final = re.compile(r"([\d.]+)\s*(it/s|s/it)")
_LOSS: Final = re.compile(r"avr_loss=([^,\]\s]+)")
_LEFT: Final = re.compile(r"<\s*((?:\d+:)?\d+:\d+)")

LOSS_TAGS: Final[tuple[str, ...]] = ("loss/average", "loss/current")
LR_TAGS: Final[tuple[str, ...]] = ("lr/unet", "lr/group0")
VAL_TAGS: Final[tuple[str, ...]] = ("loss/validation/step_average",)


@dataclass(frozen=True)
class BarLine:
    """One state of the console bar.

    Attributes:
        done: Steps done by this process (from 0 in a resumed run).
        total: Steps this process will do.
        loss: The moving-average loss, None before the first step.
        it_per_s: Steps per second (0 while tqdm shows `?`).
        eta_s: tqdm's remaining-time estimate, None while unknown.
    """

    done: int
    total: int
    loss: float | None
    it_per_s: float
    eta_s: float | None


def _seconds(clock: str) -> float:
    seconds = 0.0
    for part in clock.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds


def _rate(text: str) -> float:
    match = _RATE.search(text)
    if match is None:
        return 0.0
    value = float(match.group(1))
    if match.group(2) == "it/s":
        return value
    return 1.0 / value if value > 0 else 0.0


def _loss(text: str) -> float | None:
    match = _LOSS.search(text)
    if match is None:
        return None
    try:
        value = float(match.group(1))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_bar(line: str) -> BarLine | None:
    """The bar state in one console line, or None for any other line (logs, validation bars)."""
    match = _BAR.match(line)
    if match is None:
        return None
    info = match.group(3)
    left = _LEFT.search(info)
    return BarLine(
        done=int(match.group(1)),
        total=int(match.group(2)),
        loss=_loss(info),
        it_per_s=_rate(info),
        eta_s=_seconds(left.group(1)) if left else None,
    )


def split_console(pending: str, chunk: str) -> tuple[list[str], str]:
    """Complete lines of a console stream and the unfinished rest (tqdm redraws with `\\r`).

    Args:
        pending: What was left unfinished last time.
        chunk: Newly read text.

    Returns:
        The finished lines (without their `\\r`/`\\n`) and the new unfinished rest.
    """
    parts = re.split(r"\r\n|\r|\n", pending + chunk)
    return [p for p in parts[:-1] if p], parts[-1]


@dataclass(frozen=True)
class TbScalars:
    """(step, value) series from a run's TensorBoard events, each in step order."""

    loss: tuple[tuple[int, float], ...] = ()
    lr: tuple[tuple[int, float], ...] = ()
    val_loss: tuple[tuple[int, float], ...] = ()


def _series(
    by_tag: dict[str, dict[int, float]], tags: tuple[str, ...]
) -> tuple[tuple[int, float], ...]:
    for tag in tags:
        if by_tag.get(tag):
            return tuple(sorted(by_tag[tag].items()))
    return ()


def read_scalars(logging_dir: Path) -> TbScalars:
    """Loss, learning rate and validation loss from every events file under `logging_dir`.

    Returns empty series when there are no events yet, or when tensorboard (the `[train]`
    extra) is not installed: the console bar still gives step and loss then.
    """
    files = sorted(logging_dir.rglob("events.out.tfevents.*")) if logging_dir.is_dir() else []
    if not files:
        return TbScalars()
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        log.debug("tensorboard is not installed; the learning rate comes from the spec")
        return TbScalars()
    wanted = {*LOSS_TAGS, *LR_TAGS, *VAL_TAGS}
    by_tag: dict[str, dict[int, float]] = {}
    for path in files:
        events = EventAccumulator(str(path), size_guidance={"scalars": 0})
        events.Reload()
        for tag in wanted & set(events.Tags().get("scalars", [])):
            series = by_tag.setdefault(tag, {})
            series.update((event.step, float(event.value)) for event in events.Scalars(tag))
    return TbScalars(
        _series(by_tag, LOSS_TAGS), _series(by_tag, LR_TAGS), _series(by_tag, VAL_TAGS)
    )


_PHASE: Final = re.compile(
    r"(caching latents|caching text encoder outputs|saving checkpoint|saving state|"
    r"loading (?:dataset|model|models|state|tokenizers?|u-?net|vae)\b|resum(?:e|ing))",
    re.IGNORECASE,
)


def phase_message(line: str) -> str | None:
    """A short human line for the log lines that mark a phase ("caching latents", "saving
    checkpoint: …"), None for any other line."""
    if _PHASE.search(line) is None:
        return None
    text = re.sub(r"^[^A-Za-z]*\b(INFO|WARNING)\s+", "", line.strip())  # rich's time, level
    text = re.sub(r"\s+\S+\.py:\d+$", "", text)  # … and its file:line column
    return text[:160]
