"""ComfyUI IMAGE/MASK tensors <-> lists of numpy uint8 RGBA images.

ComfyUI passes IMAGE as float32 ``[B, H, W, C]`` in 0..1 (C = 3 or 4) and MASK as float32
``[B, H, W]`` or ``[H, W]`` with 1 = transparent (LoadImage's mask is ``1 - alpha``).
Inputs may be torch tensors or numpy arrays (duck-typed, so this module never imports
torch for reading); building output tensors imports torch inside the function, because
only a ComfyUI process (which has torch) asks for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .errors import InvalidImageError
from .image_io import check_rgba

if TYPE_CHECKING:
    import torch

__all__ = [
    "image_tensor_to_rgba",
    "map_frames",
    "mask_to_alpha",
    "pad_to_common_size",
    "rgba_to_arrays",
    "rgba_to_image_tensor",
]

RGBA = npt.NDArray[np.uint8]
Float32Array = npt.NDArray[np.float32]


def _as_numpy(value: Any) -> Float32Array:
    if hasattr(value, "detach"):  # a torch tensor, possibly on a GPU
        value = value.detach().to("cpu").float().numpy()
    array: Float32Array = np.asarray(value, dtype=np.float32)
    return array


def mask_to_alpha(mask: Any, batch: int, height: int, width: int) -> npt.NDArray[np.uint8]:
    """A ComfyUI MASK (1 = transparent) as uint8 alpha ``[B, H, W]`` (255 = opaque).

    A single mask (``[H, W]`` or ``[1, H, W]``) applies to the whole batch.

    Raises:
        InvalidImageError: the mask's size does not match the image.
    """
    values = _as_numpy(mask)
    if values.ndim == 2:
        values = values[None]
    if values.ndim != 3 or values.shape[1:] != (height, width) or values.shape[0] not in (1, batch):
        raise InvalidImageError(
            f"mask has shape {tuple(values.shape)} but the image is {batch}x{height}x{width}; "
            "give a MASK of the image's size"
        )
    alpha = np.rint((1.0 - np.clip(values, 0.0, 1.0)) * 255.0).astype(np.uint8)
    return np.broadcast_to(alpha, (batch, height, width))


def image_tensor_to_rgba(image: Any, mask: Any = None) -> list[RGBA]:
    """Split a ComfyUI IMAGE batch into uint8 RGBA frames.

    Args:
        image: ``[B, H, W, C]`` (or ``[H, W, C]``) float 0..1, C in {1, 3, 4}.
        mask: optional MASK, 1 = transparent; it replaces the alpha channel.

    Raises:
        InvalidImageError: wrong rank or channel count, or a mismatched mask.
    """
    values = _as_numpy(image)
    if values.ndim == 3:
        values = values[None]
    if values.ndim != 4 or values.shape[3] not in (1, 3, 4) or 0 in values.shape:
        raise InvalidImageError(
            f"image has shape {tuple(values.shape)}; "
            "expected an IMAGE [B, H, W, C] with C 1, 3 or 4"
        )
    batch, height, width, channels = values.shape
    rgba = np.empty((batch, height, width, 4), dtype=np.uint8)
    # One float buffer scaled and rounded in place, then cast once into the RGBA frame: a
    # 1024² SDXL render would otherwise pass through four temporary arrays (half the cost
    # of the pixelize node itself). `clip` makes the copy, so the caller's data is intact.
    scaled = np.clip(values, 0.0, 1.0)
    scaled *= 255.0
    np.rint(scaled, out=scaled)
    rgba[..., :3] = scaled[..., :3] if channels >= 3 else scaled[..., :1]
    rgba[..., 3] = scaled[..., 3] if channels == 4 else 255
    if mask is not None:
        rgba[..., 3] = mask_to_alpha(mask, batch, height, width)
    return list(rgba)


def pad_to_common_size(frames: Sequence[RGBA]) -> list[RGBA]:
    """Pad frames with transparency (bottom and right) to the largest size among them.

    A ComfyUI batch is one tensor, so sprites of different sizes must share a canvas.
    """
    checked = [check_rgba(frame, f"frames[{i}]") for i, frame in enumerate(frames)]
    height = max(frame.shape[0] for frame in checked)
    width = max(frame.shape[1] for frame in checked)
    padded = []
    for frame in checked:
        canvas = np.zeros((height, width, 4), dtype=np.uint8)
        canvas[: frame.shape[0], : frame.shape[1]] = frame
        padded.append(canvas)
    return padded


def rgba_to_arrays(frames: Sequence[RGBA]) -> tuple[Float32Array, Float32Array]:
    """Frames as numpy IMAGE ``[B, H, W, 4]`` and MASK ``[B, H, W]`` float32 arrays."""
    if not frames:
        raise InvalidImageError("frames is empty; nothing to turn into an IMAGE batch")
    stacked = np.stack(pad_to_common_size(frames)).astype(np.float32) / 255.0
    return stacked, (1.0 - stacked[..., 3]).astype(np.float32)


def rgba_to_image_tensor(frames: Sequence[RGBA]) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames as ComfyUI tensors: IMAGE ``[B, H, W, 4]`` (RGBA) and MASK ``[B, H, W]``.

    Frames of different sizes are padded with transparency to a common canvas.
    """
    import torch

    image, mask = rgba_to_arrays(frames)
    return torch.from_numpy(image), torch.from_numpy(mask)


def map_frames(
    image: Any, step: Callable[[RGBA], RGBA], mask: Any = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a per-frame pixel step over an IMAGE batch (alpha from `mask` when given) and
    return the new IMAGE and MASK: the whole body of most step nodes."""
    return rgba_to_image_tensor([step(frame) for frame in image_tensor_to_rgba(image, mask)])
