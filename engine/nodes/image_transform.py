"""Core image resizing/compositing nodes: ImageScale, ImageScaleBy, ImageBatch (ComfyUI
`nodes.py`) and JoinImageWithAlpha (`comfy_extras/nodes_compositing.py`), with ComfyUI's
inputs and ranges.

`common_upscale` is ComfyUI's `comfy.utils.common_upscale`: optional centre crop to the
target aspect, then torch interpolation (or PIL Lanczos) on `[B, C, H, W]` samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from engine.context import engine_limits
from engine.errors import EngineError

if TYPE_CHECKING:
    import torch

__all__ = [
    "CROP_METHODS",
    "MAX_RESOLUTION",
    "UPSCALE_METHODS",
    "ImageBatch",
    "ImageScale",
    "ImageScaleBy",
    "JoinImageWithAlpha",
    "common_upscale",
    "to_pil",
]

MAX_RESOLUTION = 16384
UPSCALE_METHODS: list[str] = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
CROP_METHODS: list[str] = ["disabled", "center"]


def to_pil(image: torch.Tensor) -> Image.Image:
    """One `[H, W, C]` 0..1 tensor as an 8-bit PIL image (L, RGB or RGBA)."""
    array = np.clip(255.0 * image.detach().cpu().float().numpy(), 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(array)


def _center_crop(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    old_w, old_h = samples.shape[-1], samples.shape[-2]
    old_aspect, new_aspect = old_w / old_h, width / height
    x = y = 0
    if old_aspect > new_aspect:
        x = round((old_w - old_w * (new_aspect / old_aspect)) / 2)
    elif old_aspect < new_aspect:
        y = round((old_h - old_h * (old_aspect / new_aspect)) / 2)
    return samples.narrow(-2, y, old_h - y * 2).narrow(-1, x, old_w - x * 2)


def _lanczos(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    import torch

    resized = []
    for image in samples:
        pil = to_pil(image.movedim(0, -1))
        pil = pil.resize((width, height), resample=Image.Resampling.LANCZOS)
        array = np.asarray(pil, dtype=np.float32) / 255.0
        resized.append(torch.from_numpy(array.reshape(height, width, -1)).movedim(-1, 0))
    return torch.stack(resized).to(samples.device, samples.dtype)


def common_upscale(
    samples: torch.Tensor, width: int, height: int, method: str, crop: str
) -> torch.Tensor:
    """Resize `[B, C, H, W]` samples (ComfyUI's `comfy.utils.common_upscale`).

    Raises:
        EngineError: unknown `method`.
    """
    import torch

    if method not in UPSCALE_METHODS:
        raise EngineError(f"upscale_method {method!r} is unknown; use one of {UPSCALE_METHODS}")
    source = _center_crop(samples, width, height) if crop == "center" else samples
    if method == "lanczos":
        return _lanczos(source, width, height)
    return torch.nn.functional.interpolate(source, size=(height, width), mode=method)


class ImageScale:
    """Resize to width × height (0 keeps the aspect ratio from the other side)."""

    CATEGORY = "image/upscaling"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "upscale"
    upscale_methods = UPSCALE_METHODS
    crop_methods = CROP_METHODS
    # Checked against the pixel cap at /prompt; the batch size is known only at run time.
    PIXEL_INPUTS = ("width", "height")

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        size = {"default": 512, "min": 0, "max": MAX_RESOLUTION, "step": 1}
        return {
            "required": {
                "image": ("IMAGE",),
                "upscale_method": (list(cls.upscale_methods),),
                "width": ("INT", dict(size)),
                "height": ("INT", dict(size)),
                "crop": (list(cls.crop_methods),),
            }
        }

    def upscale(
        self, image: torch.Tensor, upscale_method: str, width: int, height: int, crop: str
    ) -> tuple[torch.Tensor]:
        """The resized image batch."""
        if width == 0 and height == 0:
            return (image,)
        samples = image.movedim(-1, 1)
        if width == 0:
            width = max(1, round(samples.shape[3] * height / samples.shape[2]))
        elif height == 0:
            height = max(1, round(samples.shape[2] * width / samples.shape[3]))
        engine_limits().check_pixels(width, height, samples.shape[0], "ImageScale")
        return (common_upscale(samples, width, height, upscale_method, crop).movedim(1, -1),)


class ImageScaleBy:
    """Resize by a factor."""

    CATEGORY = "image/upscaling"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "upscale"
    upscale_methods = UPSCALE_METHODS

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "image": ("IMAGE",),
                "upscale_method": (list(cls.upscale_methods),),
                "scale_by": ("FLOAT", {"default": 1.0, "min": 0.01, "max": 8.0, "step": 0.01}),
            }
        }

    def upscale(
        self, image: torch.Tensor, upscale_method: str, scale_by: float
    ) -> tuple[torch.Tensor]:
        """The resized image batch."""
        samples = image.movedim(-1, 1)
        width = round(samples.shape[3] * scale_by)
        height = round(samples.shape[2] * scale_by)
        engine_limits().check_pixels(width, height, samples.shape[0], "ImageScaleBy")
        return (common_upscale(samples, width, height, upscale_method, "disabled").movedim(1, -1),)


class ImageBatch:
    """Two image batches as one (ComfyUI's "Batch Images"): `image2` is appended after
    `image1`, resized (bilinear, centre crop) to `image1`'s size when it differs; an RGB
    side is padded with an opaque alpha when the other is RGBA. The joined batch is one
    image batch: over `max_pixels` it is refused (ComfyUI itself has no cap)."""

    CATEGORY = "image"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "batch"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image1": ("IMAGE",), "image2": ("IMAGE",)}}

    def batch(self, image1: torch.Tensor, image2: torch.Tensor) -> tuple[torch.Tensor]:
        """`image1` then `image2`, in one `[B1 + B2, H, W, C]` batch."""
        import torch

        if image1.shape[-1] != image2.shape[-1]:
            if image1.shape[-1] > image2.shape[-1]:
                image2 = torch.nn.functional.pad(image2, (0, 1), mode="constant", value=1.0)
            else:
                image1 = torch.nn.functional.pad(image1, (0, 1), mode="constant", value=1.0)
        height, width = int(image1.shape[1]), int(image1.shape[2])
        engine_limits().check_pixels(width, height, image1.shape[0] + image2.shape[0], "ImageBatch")
        if image1.shape[1:] != image2.shape[1:]:
            samples = image2.movedim(-1, 1)
            image2 = common_upscale(samples, width, height, "bilinear", "center").movedim(1, -1)
        return (torch.cat((image1, image2), dim=0),)


class JoinImageWithAlpha:
    """Append a MASK as alpha (alpha = 1 − mask, since a mask marks what is transparent)."""

    CATEGORY = "mask/compositing"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "join_image_with_alpha"
    RELATIVE_PYTHON_MODULE = "comfy_extras.nodes_compositing"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": ("IMAGE",), "alpha": ("MASK",)}}

    def join_image_with_alpha(
        self, image: torch.Tensor, alpha: torch.Tensor
    ) -> tuple[torch.Tensor]:
        """RGB plus 1 − mask as an RGBA batch."""
        import torch

        batch = min(len(image), len(alpha))
        mask = alpha.reshape((-1, 1, alpha.shape[-2], alpha.shape[-1]))
        mask = torch.nn.functional.interpolate(mask, size=tuple(image.shape[1:3]), mode="bilinear")
        opacity = 1.0 - mask.squeeze(1)
        joined = [
            torch.cat((image[i][:, :, :3], opacity[i].unsqueeze(2)), dim=2) for i in range(batch)
        ]
        return (torch.stack(joined),)
