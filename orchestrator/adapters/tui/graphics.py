"""How the TUI draws images: Kitty graphics, Sixel or half-cell blocks, picked automatically.

Detection runs once, before Textual takes over the terminal (a terminal query cannot run
afterwards): an explicit setting wins, then well-known environment hints, then a Sixel /
Kitty capability query through `textual-image`; anything else falls back to half-cell
blocks, which work in every colour terminal and in headless tests.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping
from enum import StrEnum

import numpy as np
from PIL import Image

from orchestrator.adapters.tui.halfcell import RGBA

__all__ = ["GraphicsMode", "decode_png", "detect_graphics", "enlarge_for_terminal"]

logger = logging.getLogger(__name__)

_KITTY_TERM_PROGRAMS = frozenset({"WezTerm", "ghostty"})
_SIXEL_TERM_PROGRAMS = frozenset({"iTerm.app", "mlterm", "contour", "foot"})


class GraphicsMode(StrEnum):
    """Ways to draw an image in a terminal."""

    AUTO = "auto"
    KITTY = "kitty"
    SIXEL = "sixel"
    HALFCELL = "halfcell"


def _query_terminal() -> GraphicsMode:
    from textual_image.renderable import sixel, tgp  # queries the tty: only when asked

    if sixel.query_terminal_support():
        return GraphicsMode.SIXEL
    if tgp.query_terminal_support():
        return GraphicsMode.KITTY
    return GraphicsMode.HALFCELL


def detect_graphics(
    requested: GraphicsMode | str,
    env: Mapping[str, str],
    is_tty: bool,
    query: Callable[[], GraphicsMode] = _query_terminal,
) -> GraphicsMode:
    """Pick how to draw images.

    Args:
        requested: The `tui_graphics` setting; anything but `auto` is used as is.
        env: The process environment (TERM, TERM_PROGRAM, KITTY_WINDOW_ID …).
        is_tty: Whether stdout is a terminal; without one only half-cell works.
        query: Asks the terminal itself (replaced in tests).

    Raises:
        ValueError: `requested` is not a known mode (the message lists them).
    """
    try:
        mode = GraphicsMode(requested)
    except ValueError as exc:
        valid = ", ".join(m.value for m in GraphicsMode)
        raise ValueError(f"tui_graphics={requested!r}: expected one of {valid}") from exc
    if mode is not GraphicsMode.AUTO:
        return mode
    if not is_tty:
        return GraphicsMode.HALFCELL
    if env.get("KITTY_WINDOW_ID") or env.get("TERM") == "xterm-kitty":
        return GraphicsMode.KITTY
    if env.get("TERM_PROGRAM") in _KITTY_TERM_PROGRAMS:
        return GraphicsMode.KITTY
    if env.get("TERM_PROGRAM") in _SIXEL_TERM_PROGRAMS or "sixel" in env.get("TERM", ""):
        return GraphicsMode.SIXEL
    try:
        return query()
    except OSError as exc:  # no usable tty after all
        logger.debug("terminal graphics query failed (%s); using half-cell blocks", exc)
        return GraphicsMode.HALFCELL


def decode_png(data: bytes) -> RGBA:
    """PNG (or JPEG) bytes -> `[H, W, 4]` uint8 RGBA.

    Raises:
        ValueError: The bytes are not an image Pillow can read.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            rgba: RGBA = np.asarray(img.convert("RGBA"), dtype=np.uint8)
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"image of {len(data)} bytes cannot be decoded: {exc}") from exc
    return rgba


def enlarge_for_terminal(rgba: RGBA, min_side: int = 256) -> Image.Image:
    """Nearest-neighbour enlarge by an integer factor so Sixel/Kitty scaling stays crisp."""
    height, width = rgba.shape[:2]
    factor = max(1, -(-min_side // max(1, min(width, height))))
    img = Image.fromarray(rgba, "RGBA")
    return img.resize((width * factor, height * factor), Image.Resampling.NEAREST)
