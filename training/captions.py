"""Captions: the trigger word, the per-image text (a `.txt` sidecar or a CSV row), auto tags.

A caption reads `trigger, own text, auto tags` (kohya's comma-separated tag style); the
trigger comes first so `keep_tokens = 1` can pin it when captions are shuffled.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from training.errors import DatasetError

__all__ = ["auto_tags", "check_trigger", "compose_caption", "read_caption_csv", "sidecar_text"]

_TRIGGER: Final = re.compile(r"^[A-Za-z0-9_\-]{2,40}$")


def check_trigger(trigger: str) -> str:
    """The trigger word, checked: one token of letters, digits, `_` or `-`.

    Raises:
        DatasetError: empty, several words, or odd characters.
    """
    if not _TRIGGER.match(trigger):
        raise DatasetError(
            "trigger",
            trigger,
            "use one rare word of 2..40 letters, digits, _ or - (e.g. pxlknight)",
        )
    return trigger


def read_caption_csv(path: Path) -> dict[str, str]:
    """`file,caption` rows (a header row of exactly that is skipped) -> file name -> text.

    Raises:
        DatasetError: the file cannot be read, or a row has not two columns.
    """
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError("captions", str(path), f"cannot be read ({exc})") from exc
    captions: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        if not row or (number == 1 and [c.strip().lower() for c in row] == ["file", "caption"]):
            continue
        if len(row) != 2:
            raise DatasetError(
                "captions",
                f"{path.name} line {number}",
                f"expected 2 columns (file,caption), got {len(row)}; quote captions with commas",
            )
        captions[row[0].strip()] = row[1].strip()
    return captions


def sidecar_text(image: Path) -> str | None:
    """The text of `<stem>.txt` beside `image`, if there is one."""
    sidecar = image.with_suffix(".txt")
    if not sidecar.is_file():
        return None
    return " ".join(sidecar.read_text(encoding="utf-8").split())


def auto_tags(sprite: NDArray[np.uint8]) -> list[str]:
    """Tags read off a 1-px-per-cell RGBA sprite: colour count, size, transparency."""
    height, width = sprite.shape[:2]
    opaque = sprite[sprite[..., 3] > 0][:, :3]
    colors = int(np.unique(opaque, axis=0).shape[0]) if opaque.size else 0
    tags = [f"{colors} colors", f"{width}x{height} sprite"]
    if bool((sprite[..., 3] < 255).any()):
        tags.append("transparent background")
    return tags


def compose_caption(trigger: str, own: str | None, tags: Sequence[str]) -> str:
    """`trigger, own text, tag, tag` with empty parts left out."""
    return ", ".join(part for part in (trigger, own or "", *tags) if part)
