"""The embedded trainer's data: a prepared dataset read from its manifest, split into
training and held-out images, and cached once as UNet-space latents and text conditioning.

After caching, no VAE or text encoder runs in the training loop: a step only draws cached
tensors. Which images a step trains on is a pure function of (seed, step), so a resumed
run draws exactly what the uninterrupted run would have.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from training.errors import DatasetError

if TYPE_CHECKING:
    from engine import TrainableSDXL

__all__ = [
    "CachedSample",
    "DatasetItem",
    "SampleBatch",
    "cache_samples",
    "draw_batch",
    "read_manifest",
    "split_held_out",
]

_MANIFEST = "manifest.json"
_BASE_SIDE = 1024  # dataset buckets are SDXL's ~1024² ones


@dataclass(frozen=True)
class DatasetItem:
    """One prepared image and its caption."""

    name: str
    path: Path
    caption: str
    factor: int


@dataclass(frozen=True)
class CachedSample:
    """One image as the UNet sees it: latent [4, h, w], context [77·k, 2048], pooled [1280],
    time_ids [6] (original size, crop, target size), all float32 on the CPU."""

    name: str
    latent: torch.Tensor
    context: torch.Tensor
    pooled: torch.Tensor
    time_ids: torch.Tensor

    @property
    def group(self) -> tuple[int, ...]:
        """Samples of one group stack into a batch (same latent size and context length)."""
        return (*self.latent.shape, int(self.context.shape[0]))


@dataclass(frozen=True)
class SampleBatch:
    """A stacked batch, still on the CPU."""

    latents: torch.Tensor
    context: torch.Tensor
    pooled: torch.Tensor
    time_ids: torch.Tensor


def read_manifest(dataset_dir: Path) -> tuple[list[DatasetItem], str]:
    """The images of a dataset written by `dgx-pixels train dataset`, and the manifest's hash.

    Raises:
        DatasetError: no readable manifest, no images, or an image it lists is missing.
    """
    manifest = dataset_dir / _MANIFEST
    try:
        raw = manifest.read_bytes()
        record = json.loads(raw)
        entries = record["images"]
    except FileNotFoundError as exc:
        reason = "holds no manifest.json; prepare it with `dgx-pixels train dataset`"
        raise DatasetError("dataset_dir", str(dataset_dir), reason) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = f"manifest.json is unreadable ({exc}); prepare the dataset again"
        raise DatasetError("dataset_dir", str(dataset_dir), reason) from exc
    items = []
    for entry in entries:
        path = dataset_dir / str(entry["name"])
        if not path.is_file():
            reason = "listed in manifest.json but missing; prepare the dataset again"
            raise DatasetError("dataset_dir", str(path), reason)
        caption = str(entry.get("caption", ""))
        items.append(DatasetItem(path.name, path, caption, int(entry.get("factor", 0))))
    if not items:
        raise DatasetError("dataset_dir", str(dataset_dir), "manifest.json lists no images")
    return items, hashlib.sha256(raw).hexdigest()


def split_held_out(
    items: Sequence[DatasetItem], seed: int
) -> tuple[list[DatasetItem], list[DatasetItem]]:
    """(training, held-out): a tenth of the images (at least one from 5 images on) is held
    out for the validation loss, chosen by `seed`. Under 5 images nothing can be spared:
    the validation loss is then measured on the training images (an overfitting check)."""
    count = max(1, len(items) // 10) if len(items) >= 5 else 0
    order = sorted(items, key=lambda item: item.name)
    random.Random(seed).shuffle(order)
    held = sorted(order[:count], key=lambda item: item.name)
    train = sorted(order[count:], key=lambda item: item.name)
    return train, held


def _pixels(item: DatasetItem, resolution: int) -> torch.Tensor:
    """[1, H, W, 3] in 0..1; buckets scaled to the spec's resolution by nearest neighbour,
    each side a multiple of 64."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(item.path) as image:
            rgb = image.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise DatasetError("dataset_dir", str(item.path), f"unreadable image ({exc})") from exc
    if resolution != _BASE_SIDE:
        width, height = (
            max(64, round(side * resolution / _BASE_SIDE / 64) * 64) for side in rgb.size
        )
        rgb = rgb.resize((width, height), Image.Resampling.NEAREST)
    array = np.asarray(rgb, dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy()).unsqueeze(0)


def cache_samples(
    model: TrainableSDXL,
    items: Sequence[DatasetItem],
    resolution: int,
    on_item: Callable[[int], None] | None = None,
) -> list[CachedSample]:
    """Encode every image (VAE) and caption (both CLIPs) once.

    Args:
        model: The loaded checkpoint (its encoders run here, never in the loop).
        items: The images to encode.
        resolution: The spec's bucket side (1024: the dataset's own size).
        on_item: Called with the number of images done so far.
    """
    samples = []
    texts: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for done, item in enumerate(items, start=1):
        pixels = _pixels(item, resolution)
        latent = model.encode_pixels(pixels)[0]
        if item.caption not in texts:
            texts[item.caption] = model.encode_prompt(item.caption)
        context, pooled = texts[item.caption]
        height, width = int(pixels.shape[1]), int(pixels.shape[2])
        time_ids = torch.tensor([height, width, 0, 0, height, width], dtype=torch.float32)
        samples.append(CachedSample(item.name, latent, context[0], pooled[0], time_ids))
        if on_item is not None:
            on_item(done)
    return samples


def draw_batch(
    samples: Sequence[CachedSample], batch_size: int, seed: int, step: int
) -> SampleBatch:
    """The batch of optimiser step `step` (1-based): a group chosen in proportion to its size,
    then `batch_size` of its samples (repeating them when the group is smaller)."""
    rng = random.Random(f"{seed}:{step}")
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, sample in enumerate(samples):
        groups.setdefault(sample.group, []).append(index)
    members = groups[samples[rng.randrange(len(samples))].group]
    chosen = rng.sample(members, min(batch_size, len(members)))
    chosen += rng.choices(members, k=batch_size - len(chosen))
    picked = [samples[i] for i in chosen]
    return SampleBatch(
        latents=torch.stack([s.latent for s in picked]),
        context=torch.stack([s.context for s in picked]),
        pooled=torch.stack([s.pooled for s in picked]),
        time_ids=torch.stack([s.time_ids for s in picked]),
    )
