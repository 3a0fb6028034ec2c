"""Choosing Kitty / Sixel / half-cell drawing, and decoding sprites for it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from orchestrator.adapters.tui.graphics import (
    GraphicsMode,
    decode_png,
    detect_graphics,
    enlarge_for_terminal,
)


def _never() -> GraphicsMode:
    raise AssertionError("the terminal must not be queried here")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TERM": "xterm-kitty"}, GraphicsMode.KITTY),
        ({"KITTY_WINDOW_ID": "3", "TERM": "xterm-256color"}, GraphicsMode.KITTY),
        ({"TERM_PROGRAM": "WezTerm"}, GraphicsMode.KITTY),
        ({"TERM_PROGRAM": "iTerm.app"}, GraphicsMode.SIXEL),
        ({"TERM": "foot-sixel"}, GraphicsMode.SIXEL),
    ],
)
def test_well_known_terminals_are_recognised_without_a_query(
    env: dict[str, str], expected: GraphicsMode
) -> None:
    assert detect_graphics("auto", env, is_tty=True, query=_never) is expected


def test_unknown_terminal_is_asked_and_no_tty_means_half_cell() -> None:
    assert (
        detect_graphics("auto", {"TERM": "xterm"}, True, query=lambda: GraphicsMode.SIXEL)
        is GraphicsMode.SIXEL
    )
    assert (
        detect_graphics("auto", {"TERM": "xterm-kitty"}, False, query=_never)
        is GraphicsMode.HALFCELL
    )


def test_a_failing_terminal_query_falls_back_to_half_cell() -> None:
    def broken() -> GraphicsMode:
        raise OSError("not a tty")

    assert detect_graphics("auto", {}, True, query=broken) is GraphicsMode.HALFCELL


def test_explicit_mode_wins_and_unknown_mode_lists_the_valid_ones() -> None:
    assert (
        detect_graphics("sixel", {"TERM": "xterm-kitty"}, False, query=_never) is GraphicsMode.SIXEL
    )
    with pytest.raises(ValueError, match=r"tui_graphics='ascii'.*auto, kitty, sixel, halfcell"):
        detect_graphics("ascii", {}, True, query=_never)


def test_decode_png_gives_rgba_and_rejects_garbage() -> None:
    buf = io.BytesIO()
    Image.new("P", (3, 2), 0).save(buf, format="PNG")
    assert decode_png(buf.getvalue()).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="7 bytes cannot be decoded"):
        decode_png(b"garbage")


def test_enlarge_uses_an_integer_nearest_neighbour_factor() -> None:
    buf = io.BytesIO()
    img = Image.new("RGBA", (2, 1), (255, 0, 0, 255))
    img.putpixel((1, 0), (0, 0, 255, 255))
    img.save(buf, format="PNG")
    big = enlarge_for_terminal(decode_png(buf.getvalue()), min_side=4)
    assert big.size == (8, 4)
    assert big.getpixel((3, 3)) == (255, 0, 0, 255) and big.getpixel((4, 0)) == (0, 0, 255, 255)
