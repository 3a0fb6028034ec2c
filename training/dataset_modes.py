"""The dataset's alpha-handling vocabulary, alone so that help text can list it cheaply."""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["ALPHA_MODES", "AlphaMode"]

AlphaMode = Literal["key", "mask"]
ALPHA_MODES: Final[tuple[AlphaMode, ...]] = ("key", "mask")
