"""The `Palette` value and the one entry point that turns a name or a file into one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .color import srgb_to_oklab
from .errors import InvalidPaletteError
from .modes import PALETTE_SIZES

__all__ = [
    "MAX_PALETTE_COLORS",
    "Palette",
    "palette_swatches",
    "parse_hex_color",
    "resolve_palette",
]

MAX_PALETTE_COLORS = PALETTE_SIZES.maximum


@dataclass(frozen=True, eq=False)
class Palette:
    """An ordered set of opaque sRGB colours.

    Attributes:
        name: Human name ("pico-8", a file stem, "kmeans-16").
        colors: ``[N, 3]`` uint8, 1 <= N <= 256; stored read-only.
    """

    name: str
    colors: npt.NDArray[np.uint8]

    def __post_init__(self) -> None:
        colors = np.asarray(self.colors)
        if colors.ndim != 2 or colors.shape[1] != 3:
            raise InvalidPaletteError(
                f"palette {self.name!r}: colors must have shape [N, 3], got {colors.shape}"
            )
        if not 1 <= colors.shape[0] <= MAX_PALETTE_COLORS:
            raise InvalidPaletteError(
                f"palette {self.name!r} has {colors.shape[0]} colours; "
                f"a palette needs 1..{MAX_PALETTE_COLORS}"
            )
        frozen = np.array(colors, dtype=np.uint8, copy=True)
        frozen.setflags(write=False)
        object.__setattr__(self, "colors", frozen)

    def __len__(self) -> int:
        return int(self.colors.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Palette):
            return NotImplemented
        return self.name == other.name and np.array_equal(self.colors, other.colors)

    def __hash__(self) -> int:
        return hash((self.name, self.colors.tobytes()))

    @property
    def lab(self) -> npt.NDArray[np.float32]:
        """The colours in OKLab, ``[N, 3]`` float32."""
        return srgb_to_oklab(self.colors)

    def hex_codes(self) -> list[str]:
        """The colours as lowercase ``#rrggbb`` strings, in order."""
        return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in self.colors.tolist()]

    @classmethod
    def from_hex(cls, name: str, codes: list[str] | tuple[str, ...]) -> Palette:
        """Build a palette from ``#rrggbb`` / ``rrggbb`` strings."""
        return cls(name=name, colors=np.array([parse_hex_color(c) for c in codes], np.uint8))


def parse_hex_color(text: str) -> tuple[int, int, int]:
    """Parse ``#rrggbb``, ``rrggbb`` or ``#rgb`` into an ``(r, g, b)`` tuple.

    Raises:
        InvalidPaletteError: the text is not a hex colour.
    """
    code = text.strip().removeprefix("#")
    if len(code) == 3:
        code = "".join(ch * 2 for ch in code)
    if len(code) != 6 or any(ch not in "0123456789abcdefABCDEF" for ch in code):
        raise InvalidPaletteError(
            f"colour {text!r} is not a hex colour; write it as #rrggbb, e.g. #1d2b53"
        )
    return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)


def resolve_palette(name_or_path: str | Path) -> Palette:
    """Turn a built-in palette name or a palette file path into a `Palette`.

    A value that names an existing file, or ends in a palette file suffix, is read as a file;
    anything else must be a built-in name.

    Raises:
        InvalidPaletteError: unknown name (the message lists the valid ones), missing or
            malformed file.
    """
    # Imported here because both modules build `Palette` values from this module.
    from .palette_files import PALETTE_SUFFIXES, load_palette
    from .palettes_builtin import builtin_palette

    path = Path(name_or_path)
    if isinstance(name_or_path, Path) or path.is_file() or path.suffix.lower() in PALETTE_SUFFIXES:
        return load_palette(path)
    return builtin_palette(str(name_or_path))


def palette_swatches(palette: Palette, cell: int = 8, columns: int = 16) -> npt.NDArray[np.uint8]:
    """The palette drawn as a grid of ``cell``-px squares, `columns` per row, as RGBA.

    Unused slots in the last row are transparent.
    """
    count = len(palette)
    across = min(columns, count)
    down = -(-count // across)
    grid = np.zeros((down * across, 4), dtype=np.uint8)
    grid[:count, :3] = palette.colors
    grid[:count, 3] = 255
    image = grid.reshape(down, across, 4)
    return np.repeat(np.repeat(image, cell, axis=0), cell, axis=1)
