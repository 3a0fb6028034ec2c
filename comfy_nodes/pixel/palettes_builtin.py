"""Built-in palettes with their exact published colours, picked by name.

Sources: PICO-8 (Lexaloffle's system palette), Game Boy (the DMG's four LCD greens,
darkest first), NES (the 2C02 palette as published on Lospec, 55 colours, no duplicate
blacks), Endesga 32 and Sweetie 16 (their authors' Lospec entries).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, get_args

from .errors import InvalidPaletteError
from .palette import Palette

__all__ = ["BUILTIN_PALETTES", "BuiltinPaletteName", "builtin_palette", "builtin_palette_names"]

BuiltinPaletteName = Literal["pico-8", "gameboy", "nes", "endesga-32", "sweetie-16"]

BUILTIN_PALETTES: Final[Mapping[BuiltinPaletteName, tuple[str, ...]]] = MappingProxyType(
    {
        "pico-8": (
            "#000000", "#1d2b53", "#7e2553", "#008751", "#ab5236", "#5f574f", "#c2c3c7",
            "#fff1e8", "#ff004d", "#ffa300", "#ffec27", "#00e436", "#29adff", "#83769c",
            "#ff77a8", "#ffccaa",
        ),
        "gameboy": ("#0f380f", "#306230", "#8bac0f", "#9bbc0f"),
        "nes": (
            "#000000", "#fcfcfc", "#f8f8f8", "#bcbcbc", "#7c7c7c", "#a4e4fc", "#3cbcfc",
            "#0078f8", "#0000fc", "#b8b8f8", "#6888fc", "#0058f8", "#0000bc", "#d8b8f8",
            "#9878f8", "#6844fc", "#4428bc", "#f8b8f8", "#f878f8", "#d800cc", "#940084",
            "#f8a4c0", "#f85898", "#e40058", "#a80020", "#f0d0b0", "#f87858", "#f83800",
            "#a81000", "#fce0a8", "#fca044", "#e45c10", "#881400", "#f8d878", "#f8b800",
            "#ac7c00", "#503000", "#d8f878", "#b8f818", "#00b800", "#007800", "#b8f8b8",
            "#58d854", "#00a800", "#006800", "#b8f8d8", "#58f898", "#00a844", "#005800",
            "#00fcfc", "#00e8d8", "#008888", "#004058", "#f8d8f8", "#787878",
        ),
        "endesga-32": (
            "#be4a2f", "#d77643", "#ead4aa", "#e4a672", "#b86f50", "#733e39", "#3e2731",
            "#a22633", "#e43b44", "#f77622", "#feae34", "#fee761", "#63c74d", "#3e8948",
            "#265c42", "#193c3e", "#124e89", "#0099db", "#2ce8f5", "#ffffff", "#c0cbdc",
            "#8b9bb4", "#5a6988", "#3a4466", "#262b44", "#181425", "#ff0044", "#68386c",
            "#b55088", "#f6757a", "#e8b796", "#c28569",
        ),
        "sweetie-16": (
            "#1a1c2c", "#5d275d", "#b13e53", "#ef7d57", "#ffcd75", "#a7f070", "#38b764",
            "#257179", "#29366f", "#3b5dc9", "#41a6f6", "#73eff7", "#f4f4f4", "#94b0c2",
            "#566c86", "#333c57",
        ),
    }
)  # fmt: skip


def builtin_palette_names() -> tuple[str, ...]:
    """The valid built-in palette names, in a stable order."""
    return get_args(BuiltinPaletteName)


def _normalise(name: str) -> str:
    # "PICO8", "pico_8" and "Endesga32" are what people type; map them to the canonical form.
    squashed = name.strip().lower().replace("_", "").replace("-", "").replace(" ", "")
    for canonical in builtin_palette_names():
        if canonical.replace("-", "") == squashed:
            return canonical
    return name


def builtin_palette(name: str) -> Palette:
    """The built-in palette called `name` (case and `-`/`_` are ignored).

    Raises:
        InvalidPaletteError: the name is unknown; the message lists the valid names.
    """
    canonical = _normalise(name)
    if canonical not in BUILTIN_PALETTES:
        valid = ", ".join(builtin_palette_names())
        raise InvalidPaletteError(
            f"palette={name!r} is not a built-in palette; choose one of: {valid} "
            "(or give the path of a .hex, .gpl, .pal or .png palette file)"
        )
    return Palette.from_hex(canonical, BUILTIN_PALETTES[canonical])  # type: ignore[index]
