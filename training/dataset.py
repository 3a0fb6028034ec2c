"""Prepare a training dataset from a folder of sprites: the `train dataset` use case's core.

Every distinct PNG/WebP/GIF of SRC is brought to 1 px per cell with the pixel core, its
alpha flattened onto a key colour (and, with `mask`, kept as `masks/<name>.png`), repeated
by a whole factor into an SDXL bucket, and captioned. DIR gets `<name>.png` + `<name>.txt`
per image and `manifest.json` (hashes, sizes, factors, captions). Everything is written
into a temp folder beside DIR and renamed onto DIR at the end, so a failure leaves no
half-made dataset.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from comfy_nodes.pixel.atomic import write_folder_atomic
from comfy_nodes.pixel.errors import PixelArtError
from training.captions import (
    auto_tags,
    check_trigger,
    compose_caption,
    read_caption_csv,
    sidecar_text,
)
from training.dataset_modes import ALPHA_MODES, AlphaMode
from training.dataset_pixels import parse_key_color, to_bucket, to_cells
from training.dataset_sources import SourceImage, read_sources
from training.errors import DatasetError

__all__ = [
    "MANIFEST_NAME",
    "DatasetOptions",
    "DatasetResult",
    "PreparedImage",
    "prepare_dataset",
]

log = logging.getLogger(__name__)

MANIFEST_NAME: Final[str] = "manifest.json"


@dataclass(frozen=True)
class DatasetOptions:
    """How to prepare a dataset.

    Attributes:
        trigger: The trigger word every caption starts with.
        min_images: Fewest distinct images to accept.
        alpha: `key` flattens alpha onto `key_color`; `mask` also writes `masks/<name>.png`.
        key_color: `#RRGGBB` behind transparent pixels and bucket padding. Magenta by
            default: a colour sprites rarely use, so generated backgrounds key out cleanly.
        captions_csv: A `file,caption` CSV; without it, `<name>.txt` beside each image.
        auto_tags: Add colour count, size and "transparent background" tags.
    """

    trigger: str
    min_images: int = 5
    alpha: AlphaMode = "key"
    key_color: str = "#FF00FF"
    captions_csv: Path | None = None
    auto_tags: bool = True


@dataclass(frozen=True)
class PreparedImage:
    """One image of the dataset, as the manifest records it."""

    name: str
    source: str
    sha256: str
    original_size: tuple[int, int]
    sprite_size: tuple[int, int]
    cell_size: float
    factor: int
    bucket: tuple[int, int]
    caption: str


@dataclass(frozen=True)
class DatasetResult:
    """The written dataset: its folder, images, manifest, the manifest's hash, warnings."""

    out: Path
    images: list[PreparedImage]
    manifest: Path
    manifest_sha256: str
    warnings: list[str] = field(default_factory=list)


def _check(options: DatasetOptions, out: Path) -> tuple[int, int, int]:
    check_trigger(options.trigger)
    if options.min_images < 1:
        raise DatasetError("min_images", options.min_images, "choose 1 or more")
    if options.alpha not in ALPHA_MODES:
        raise DatasetError("alpha", options.alpha, f"choose one of {', '.join(ALPHA_MODES)}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DatasetError("out", str(out), "exists and is not empty; choose a new folder")
    return parse_key_color(options.key_color)


def _png(pixels: NDArray[np.uint8]) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _own_caption(source: SourceImage, csv_captions: dict[str, str] | None) -> str | None:
    if csv_captions is not None:
        return csv_captions.get(source.path.name)
    return sidecar_text(source.path)


def _prepare_one(
    source: SourceImage,
    options: DatasetOptions,
    key: tuple[int, int, int],
    csv_captions: dict[str, str] | None,
    warnings: list[str],
) -> tuple[PreparedImage, dict[str, bytes]]:
    """The manifest entry and the files (relative name -> bytes) of one image."""
    name = source.path.name
    try:
        sprite, grid = to_cells(name, source.rgba, warnings)
        bucket = to_bucket(name, sprite, key)
    except PixelArtError as exc:
        raise DatasetError(str(source.path), name, f"{exc}; fix or remove the file") from exc
    tags = auto_tags(sprite) if options.auto_tags else []
    caption = compose_caption(options.trigger, _own_caption(source, csv_captions), tags)
    stem = source.path.stem
    files = {f"{stem}.png": _png(bucket.rgb), f"{stem}.txt": caption.encode("utf-8")}
    if options.alpha == "mask":
        files[f"masks/{stem}.png"] = _png(bucket.mask)
    height, width = source.rgba.shape[:2]
    entry = PreparedImage(
        name=f"{stem}.png",
        source=str(source.path),
        sha256=source.sha256,
        original_size=(width, height),
        sprite_size=(sprite.shape[1], sprite.shape[0]),
        cell_size=round(float(grid.cell_w), 4),
        factor=bucket.placement.factor,
        bucket=bucket.placement.bucket,
        caption=caption,
    )
    return entry, files


def _size_warning(images: list[PreparedImage]) -> str | None:
    sizes = Counter(f"{i.sprite_size[0]}x{i.sprite_size[1]}" for i in images)
    if len(sizes) < 2:
        return None
    listed = ", ".join(f"{size} ({count})" for size, count in sizes.most_common())
    return f"mixed sprite sizes: {listed}; each is upscaled by its own factor"


def _stems_clash(sources: list[SourceImage]) -> None:
    stems = Counter(s.path.stem for s in sources)
    clashing = sorted(stem for stem, count in stems.items() if count > 1)
    if clashing:
        raise DatasetError(
            "SRC", clashing[0], "several images share this name (e.g. .png and .webp); rename one"
        )


def _manifest(options: DatasetOptions, src: Path, images: list[PreparedImage]) -> bytes:
    record = {
        "version": 1,
        "source": str(src),
        "trigger": options.trigger,
        "alpha": options.alpha,
        "key_color": options.key_color.upper(),
        "images": [asdict(image) for image in images],
    }
    return json.dumps(record, indent=2).encode("utf-8")


def prepare_dataset(src: Path, out: Path, options: DatasetOptions) -> DatasetResult:
    """Turn a folder of sprites into a captioned, bucket-sized training dataset.

    Args:
        src: The folder of sprites (PNG, WebP, GIF first frame; not recursive).
        out: The dataset folder to create (new, or empty).
        options: Trigger, minimum count, alpha handling, captions.

    Returns:
        What was written, and every warning (skipped, duplicate, not pixel art, mixed sizes).

    Raises:
        DatasetError: a bad option, too few images, a corrupt file or an unusable sprite
            (each named); nothing is written then.
        OSError: writing failed; nothing is left at `out`.
    """
    # 1. Check the options and read the sources.
    key = _check(options, out)
    warnings: list[str] = []
    csv_captions = read_caption_csv(options.captions_csv) if options.captions_csv else None
    sources = read_sources(src, options.min_images, warnings)
    _stems_clash(sources)
    # 2. Prepare every image in memory.
    images: list[PreparedImage] = []
    files: dict[str, bytes] = {}
    for source in sources:
        entry, written = _prepare_one(source, options, key, csv_captions, warnings)
        images.append(entry)
        files |= written
    size_warning = _size_warning(images)
    if size_warning is not None:
        warnings.append(size_warning)
    # 3. Write everything at once, with the manifest.
    files[MANIFEST_NAME] = _manifest(options, src, images)
    write_folder_atomic(files, out)
    # The warnings go back to the caller, which shows them; logged once here in short.
    log.info("dataset: %d image(s) to %s, %d warning(s)", len(images), out, len(warnings))
    digest = hashlib.sha256(files[MANIFEST_NAME]).hexdigest()
    return DatasetResult(out, images, out / MANIFEST_NAME, digest, warnings)
