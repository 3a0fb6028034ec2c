"""Read palette files: `.hex` (Lospec), `.gpl` (GIMP), `.pal` (JASC-PAL) and palette `.png`.

Every malformed file raises `InvalidPaletteError` naming the file, the line and the problem,
so a user can open the file and fix that line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np

from .errors import InvalidImageError, InvalidPaletteError
from .palette import MAX_PALETTE_COLORS, Palette, parse_hex_color

__all__ = ["PALETTE_SUFFIXES", "load_palette", "parse_gpl", "parse_hex", "parse_jasc_pal"]

Color = tuple[int, int, int]


def _fail(path: Path, line: int | None, problem: str) -> InvalidPaletteError:
    where = f"{path}:{line}" if line is not None else str(path)
    return InvalidPaletteError(f"palette file {where}: {problem}")


def _checked(path: Path, colors: list[Color]) -> list[Color]:
    if not colors:
        raise _fail(path, None, "contains no colours")
    if len(colors) > MAX_PALETTE_COLORS:
        raise _fail(path, None, f"has {len(colors)} colours; at most {MAX_PALETTE_COLORS}")
    return colors


def _rgb_triplet(path: Path, number: int, fields: list[str]) -> Color:
    try:
        values = [int(field) for field in fields[:3]]
    except ValueError:
        raise _fail(path, number, f"expected three integers 'R G B', got {fields[:3]}") from None
    if len(values) < 3:
        raise _fail(path, number, f"expected three integers 'R G B', got {fields}")
    if any(not 0 <= v <= 255 for v in values):
        raise _fail(path, number, f"colour values must be 0..255, got {values}")
    return values[0], values[1], values[2]


def parse_hex(path: Path, text: str) -> tuple[str, list[Color]]:
    """Parse a `.hex` file: one ``rrggbb`` (``#`` optional) per line; ``;`` starts a comment."""
    colors: list[Color] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        try:
            colors.append(parse_hex_color(line))
        except InvalidPaletteError:
            raise _fail(path, number, f"{line!r} is not a 6-digit hex colour like 1d2b53") from None
    return path.stem, _checked(path, colors)


def parse_gpl(path: Path, text: str) -> tuple[str, list[Color]]:
    """Parse a GIMP `.gpl` palette (``GIMP Palette`` header, ``Name:``, ``R G B name`` rows)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "GIMP Palette":
        raise _fail(path, 1, "first line must be 'GIMP Palette'")
    name = path.stem
    colors: list[Color] = []
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("Name:"):
            name = line.removeprefix("Name:").strip() or name
            continue
        if line.startswith("Columns:"):
            continue
        colors.append(_rgb_triplet(path, number, line.split()))
    return name, _checked(path, colors)


def parse_jasc_pal(path: Path, text: str) -> tuple[str, list[Color]]:
    """Parse a JASC-PAL `.pal` file: ``JASC-PAL``, ``0100``, a count, then ``R G B`` rows."""
    lines = [line.strip() for line in text.splitlines()]
    if not lines or lines[0] != "JASC-PAL":
        raise _fail(path, 1, "first line must be 'JASC-PAL' (only JASC palettes are read)")
    if len(lines) < 3 or lines[1] != "0100":
        raise _fail(path, 2, "second line must be the version '0100'")
    try:
        count = int(lines[2])
    except ValueError:
        raise _fail(path, 3, f"third line must be the colour count, got {lines[2]!r}") from None
    rows = [(number, line) for number, line in enumerate(lines[3:], start=4) if line]
    if len(rows) != count:
        raise _fail(path, 3, f"declares {count} colours but {len(rows)} colour lines follow")
    colors = [_rgb_triplet(path, number, line.split()) for number, line in rows]
    return path.stem, _checked(path, colors)


def _read_png(path: Path) -> tuple[str, list[Color]]:
    # Imported here: image_io pulls in Pillow, which text palettes never need.
    from .image_io import load_image

    try:
        rgba = load_image(path)
    except InvalidImageError as error:
        raise _fail(path, None, f"is not a readable image ({error})") from error
    opaque = rgba[rgba[..., 3] > 0][:, :3]
    if opaque.shape[0] == 0:
        raise _fail(path, None, "contains no opaque pixels, so no colours")
    # Unique colours in reading order: swatch strips keep the author's order.
    _, first = np.unique(opaque, axis=0, return_index=True)
    ordered = opaque[np.sort(first)]
    colors = [(int(r), int(g), int(b)) for r, g, b in ordered.tolist()]
    return path.stem, _checked(path, colors)


_TEXT_PARSERS: Final[dict[str, Callable[[Path, str], tuple[str, list[Color]]]]] = {
    ".hex": parse_hex,
    ".gpl": parse_gpl,
    ".pal": parse_jasc_pal,
}
PALETTE_SUFFIXES: Final[tuple[str, ...]] = (*_TEXT_PARSERS, ".png")


def load_palette(path: str | Path) -> Palette:
    """Load a palette file; the suffix picks the format.

    Raises:
        InvalidPaletteError: missing file, unknown suffix, or a malformed file (the message
            names the file, the line and the problem).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PALETTE_SUFFIXES:
        raise _fail(path, None, f"unknown palette format {suffix!r}; use one of {PALETTE_SUFFIXES}")
    if not path.is_file():
        raise _fail(path, None, "does not exist (give a built-in palette name or an existing file)")
    if suffix == ".png":
        name, colors = _read_png(path)
    else:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            raise _fail(path, None, f"is not UTF-8 text ({error.reason})") from error
        name, colors = _TEXT_PARSERS[suffix](path, text)
    return Palette(name=name, colors=np.array(colors, dtype=np.uint8))
