"""The source side of a dataset: which files are images, read them, drop duplicates.

PNG and WebP are read as they are; a GIF gives its first frame (with a warning when it has
more). JPEG and other lossy or unusual formats are skipped with a warning: their blocks
would be learned as style. A corrupt file stops the run naming it; identical files (by
SHA-256 of their bytes) are kept once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from comfy_nodes.pixel.errors import InvalidImageError
from comfy_nodes.pixel.image_io import load_frames
from training.errors import DatasetError

__all__ = ["IMAGE_SUFFIXES", "SourceImage", "read_sources"]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES: Final[frozenset[str]] = frozenset({".png", ".webp", ".gif"})
_SKIPPED_SUFFIXES: Final[frozenset[str]] = frozenset({".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})


@dataclass(frozen=True)
class SourceImage:
    """One usable input: its file, the SHA-256 of its bytes and its first frame as RGBA."""

    path: Path
    sha256: str
    rgba: NDArray[np.uint8]


def _listed(src: Path, warnings: list[str]) -> list[Path]:
    if not src.is_dir():
        raise DatasetError("SRC", str(src), "is not a folder; give the folder of sprites")
    found = []
    for path in sorted(src.iterdir()):
        suffix = path.suffix.lower()
        if path.is_file() and suffix in IMAGE_SUFFIXES:
            found.append(path)
        elif path.is_file() and suffix in _SKIPPED_SUFFIXES:
            warnings.append(f"{path.name}: skipped; {suffix} is not lossless, export PNG")
    return found


def _read(path: Path, warnings: list[str]) -> NDArray[np.uint8]:
    try:
        frames = load_frames(path)
    except InvalidImageError as exc:
        raise DatasetError(
            str(path), path.name, f"unreadable image ({exc}); fix or remove the file"
        ) from exc
    if len(frames) > 1:
        warnings.append(f"{path.name}: {len(frames)} frames; only the first is used")
    return frames[0]


def read_sources(src: Path, min_images: int, warnings: list[str]) -> list[SourceImage]:
    """Every distinct image of `src` (not recursive), in name order.

    Args:
        src: The folder of sprites.
        min_images: Fewest distinct images to accept.
        warnings: Collects what was skipped, dropped or only partly used.

    Raises:
        DatasetError: `src` is not a folder, a file is corrupt (named), or fewer than
            `min_images` distinct images remain.
    """
    seen: dict[str, Path] = {}
    images: list[SourceImage] = []
    for path in _listed(src, warnings):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen:
            warnings.append(f"{path.name}: duplicate of {seen[digest].name}; kept once")
            continue
        seen[digest] = path
        images.append(SourceImage(path, digest, _read(path, warnings)))
    if len(images) < min_images:
        raise DatasetError(
            "SRC",
            str(src),
            f"holds {len(images)} distinct PNG/WebP/GIF image(s), fewer than the minimum "
            f"{min_images}; add sprites (about 50 is typical) or lower --min-images",
        )
    log.info("dataset: %d distinct image(s) in %s", len(images), src)
    return images
