"""The mode vocabularies of the pixel core: each list of names is written here and only here.

Dither, background and downscale modes are typed `Literal`s (so mypy checks every
registry keyed by them) and a `ModeVocabulary` read at run time by everything that offers
or checks a mode: the algorithm modules' registries (name -> function), the node combos,
the orchestrator's pydantic wire types and CLI help. Adding a name to a `Literal` below
adds it everywhere; a registry that lacks a function for it fails its test, and a template
sidecar whose `choices` do not follow fails `tests/workflows`.

The palette size (`colors`) is a number or "auto"; `PALETTE_SIZES` holds its range, its
auto word and the widget value that means auto (node widgets are INT), so the CLI, the
request model, the node and the template sidecars read one definition.

Stdlib only: the CLI reads these names at start-up without importing numpy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, get_args, overload

from .errors import InvalidParameterError

__all__ = [
    "BACKGROUND_MODES",
    "DITHER_MODES",
    "DOWNSCALE_MODES",
    "PALETTE_SIZES",
    "BackgroundMode",
    "DitherMode",
    "DownscaleMode",
    "ModeVocabulary",
    "PaletteSizeRange",
]

DitherMode = Literal["none", "floyd-steinberg", "bayer-2", "bayer-4", "bayer-8"]
BackgroundMode = Literal["auto", "border", "key", "none"]
DownscaleMode = Literal["robust", "median", "mean", "center"]


class ModeVocabulary(Sequence[str]):
    """The valid names of one mode family, in display order, and the check of a name.

    A sequence of its names, so `name in DITHER_MODES`, `list(DITHER_MODES)` (a node
    combo) and `", ".join(DITHER_MODES)` all read the current names.

    Attributes:
        argument: the option's name in messages (`dither`, `remove_background`, ...).
        names: the valid names, in the order menus show them.
        default: the name used when a caller gives none.
    """

    def __init__(self, argument: str, names: tuple[str, ...], default: str) -> None:
        if default not in names:
            raise ValueError(f"default {default!r} of {argument} is not one of {names}")
        self.argument = argument
        self.names = names
        self.default = default

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self.names[index]

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __repr__(self) -> str:
        return f"ModeVocabulary({self.argument!r}, {self.names!r}, default={self.default!r})"

    def parse(self, value: str) -> str:
        """`value` as a valid name (case, spaces and `_` for `-` are forgiven).

        Raises:
            InvalidParameterError: not a known name; the message lists the valid ones.
        """
        canonical = str(value).strip().lower().replace("_", "-")
        if canonical in self.names:
            return canonical
        raise InvalidParameterError(
            f"{self.argument}={value!r} is unknown; choose one of: {', '.join(self.names)}"
        )


DITHER_MODES = ModeVocabulary("dither", get_args(DitherMode), default="none")
BACKGROUND_MODES = ModeVocabulary("remove_background", get_args(BackgroundMode), default="auto")
DOWNSCALE_MODES = ModeVocabulary("downscale_mode", get_args(DownscaleMode), default="robust")


class PaletteSizeRange:
    """The palette size: "auto" (picked from the picture) or a whole number in a range.

    Attributes:
        argument: the option's name in messages.
        minimum: the smallest size that can be asked.
        maximum: the largest size that can be asked.
        auto: the word that asks for an automatic size (also the default).
        widget_auto: the INT widget value that means auto (node widgets hold numbers).
    """

    def __init__(self, argument: str, minimum: int, maximum: int) -> None:
        self.argument = argument
        self.minimum = minimum
        self.maximum = maximum
        self.auto = "auto"
        self.widget_auto = 0

    def __repr__(self) -> str:
        return f"PaletteSizeRange({self.argument!r}, {self.minimum}, {self.maximum})"

    def describe(self) -> str:
        """The accepted values in words, for help texts and tooltips."""
        return f'"{self.auto}" or {self.minimum}..{self.maximum}'

    def parse(self, value: int | str | None) -> int | None:
        """`value` as a size, or None for auto ("auto", None, empty, or the widget's 0).

        Raises:
            InvalidParameterError: neither auto nor a whole number in range; the message
                names the argument, the value and the valid ones.
        """
        if value is None or value == self.widget_auto:
            return None
        text = str(value).strip().lower()
        if text in ("", self.auto):
            return None
        number = text.removeprefix("-").isdigit() and not isinstance(value, bool | float)
        if not number:
            raise InvalidParameterError(
                f"{self.argument}={value!r} is not a size; choose {self.describe()}"
            )
        size = int(text)
        if not self.minimum <= size <= self.maximum:
            raise InvalidParameterError(
                f"{self.argument}={size} is out of range; choose {self.describe()}"
            )
        return size


PALETTE_SIZES = PaletteSizeRange("colors", minimum=2, maximum=256)
