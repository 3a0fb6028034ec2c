"""Read images safely into uint8 RGBA and write PNGs atomically.

Reading checks what can go wrong with files users hand us: not an image, truncated data,
empty or oversized canvases (checked from the header, before any pixel is decoded),
16-bit, greyscale, palette-mode and animated files. Writing goes through `atomic`, so a
crash never leaves a half-written sprite.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from .atomic import write_atomic
from .errors import InvalidImageError

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = [
    "MAX_IMAGE_SIDE",
    "check_rgba",
    "encode_png",
    "load_frames",
    "load_image",
    "save_png_atomic",
]

MAX_IMAGE_SIDE: Final[int] = 8192
"""Largest accepted width or height; 8192² RGBA is 256 MiB decoded."""

RGBA = npt.NDArray[np.uint8]
ImageSource = str | os.PathLike[str] | bytes

# Pillow modes whose integer samples are 16-bit; convert("RGBA") would clip them to 255.
_WIDE_MODES: Final[frozenset[str]] = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


def check_rgba(image: npt.ArrayLike, argument: str = "image") -> RGBA:
    """Return `image` as a ``[H, W, 4]`` uint8 array or raise naming `argument`.

    Raises:
        InvalidImageError: wrong rank, channel count, dtype or an empty side.
    """
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 4:
        raise InvalidImageError(f"{argument} must be RGBA with shape [H, W, 4], got {array.shape}")
    if array.dtype != np.uint8:
        raise InvalidImageError(f"{argument} must be uint8 RGBA, got dtype {array.dtype}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidImageError(f"{argument} is empty ({array.shape[1]}x{array.shape[0]})")
    return array


def _describe(source: ImageSource) -> str:
    return f"{len(source)} bytes of image data" if isinstance(source, bytes) else str(source)


def _open(source: ImageSource) -> PILImage.Image:
    from PIL import Image, UnidentifiedImageError

    if not isinstance(source, bytes) and not Path(source).is_file():
        raise InvalidImageError(f"image {source} does not exist or is not a file")
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            # We enforce our own, stricter size limit below, from the header.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream)
    except Image.DecompressionBombError as error:
        raise InvalidImageError(
            f"{_describe(source)} is larger than {MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE}; "
            "downscale it first"
        ) from error
    except UnidentifiedImageError as error:
        raise InvalidImageError(
            f"{_describe(source)} is not an image (unrecognised format); "
            "give a PNG, JPEG, WebP, GIF or BMP file"
        ) from error
    except (SyntaxError, ValueError, OSError) as error:
        raise InvalidImageError(
            f"{_describe(source)} is not a readable image ({error}); re-export it"
        ) from error
    try:
        _check_size(source, image.width, image.height)
    except InvalidImageError:
        image.close()  # Image.open holds the file until closed
        raise
    return image


def _check_size(source: ImageSource, width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise InvalidImageError(f"{_describe(source)} is empty ({width}x{height} pixels)")
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
        raise InvalidImageError(
            f"{_describe(source)} is {width}x{height}; the limit is "
            f"{MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE}, downscale it first"
        )


def _frame_to_rgba(frame: PILImage.Image) -> RGBA:
    if frame.mode in _WIDE_MODES:
        # 16-bit greyscale: scale 0..65535 onto 0..255 instead of clipping.
        grey = np.asarray(frame, dtype=np.float64)
        scale = 257.0 if grey.max(initial=0.0) > 255.0 or frame.mode != "I" else 1.0
        level = np.clip(np.rint(grey / scale), 0, 255).astype(np.uint8)
        opaque = np.full(level.shape, 255, dtype=np.uint8)
        return np.ascontiguousarray(np.stack([level, level, level, opaque], axis=-1))
    if frame.mode == "F":
        level = np.clip(np.rint(np.asarray(frame, dtype=np.float64)), 0, 255).astype(np.uint8)
        opaque = np.full(level.shape, 255, dtype=np.uint8)
        return np.ascontiguousarray(np.stack([level, level, level, opaque], axis=-1))
    return np.ascontiguousarray(np.asarray(frame.convert("RGBA"), dtype=np.uint8))


def _decode(source: ImageSource, image: PILImage.Image) -> RGBA:
    try:
        image.load()
        return _frame_to_rgba(image)
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise InvalidImageError(
            f"{_describe(source)} is truncated or corrupt ({error}); re-export the image"
        ) from error


def load_image(source: ImageSource) -> RGBA:
    """Load the first frame of an image file or of encoded bytes as uint8 RGBA.

    Args:
        source: a path or the file's bytes.

    Returns:
        ``[H, W, 4]`` uint8. Greyscale, palette-mode, 16-bit and RGB inputs are converted;
        palette transparency becomes alpha.

    Raises:
        InvalidImageError: not an image, truncated, empty, or larger than 8192 on a side.
    """
    with _open(source) as image:
        return _decode(source, image)


def load_frames(source: ImageSource) -> list[RGBA]:
    """Load every frame of an (animated) image as uint8 RGBA; a still image gives one frame.

    Raises:
        InvalidImageError: as `load_image`.
    """
    from PIL import ImageSequence

    frames: list[RGBA] = []
    with _open(source) as image:
        for frame in ImageSequence.Iterator(image):
            frames.append(_decode(source, frame))
    return frames


def encode_png(rgba: npt.ArrayLike) -> bytes:
    """`rgba` as PNG file bytes (for `atomic.write_files_atomic`: several files, all or none)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(check_rgba(rgba, "rgba")).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png_atomic(path: str | os.PathLike[str], rgba: npt.ArrayLike) -> Path:
    """Write `rgba` as a PNG at `path` all at once: temp file in the same folder, then rename.

    The parent folder is created if needed. If anything fails, nothing is left behind and
    an existing file at `path` is untouched.

    Returns:
        The path written.
    """
    return write_atomic(path, encode_png(rgba))
