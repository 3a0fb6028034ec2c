"""Errors of the pixel-art core.

    PixelArtError (ValueError)
    ├── InvalidImageError        not an image, truncated, empty, too large, unsupported mode
    ├── InvalidPaletteError      unknown palette name, malformed palette file
    ├── InvalidParameterError    an option out of range or of an unknown mode
    └── GridDoesNotFitError      a requested or detected grid does not fit the image

Messages name the argument and its value, and say what is valid.
"""

from __future__ import annotations

__all__ = [
    "GridDoesNotFitError",
    "InvalidImageError",
    "InvalidPaletteError",
    "InvalidParameterError",
    "PixelArtError",
]


class PixelArtError(ValueError):
    """Root of every error the pixel-art core raises on purpose."""


class InvalidImageError(PixelArtError):
    """The input is not an image this core can work on."""


class InvalidPaletteError(PixelArtError):
    """A palette name is unknown or a palette file is malformed."""


class InvalidParameterError(PixelArtError):
    """An option is out of range or names an unknown mode."""


class GridDoesNotFitError(PixelArtError):
    """A requested or detected grid does not fit the image."""
