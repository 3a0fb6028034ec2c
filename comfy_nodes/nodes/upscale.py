"""Upscale-preview node: crisp nearest-neighbour enlargement for looking at sprites."""

from __future__ import annotations

from typing import Any

from ..pixel.tensors import map_frames
from ..pixel.upscale import MAX_UPSCALE_FACTOR, upscale_nearest

__all__ = ["UpscalePreview"]


class UpscalePreview:
    """Enlarge sprites by an integer factor with no smoothing."""

    CATEGORY = "DGX-Pixels/preview"
    FUNCTION = "upscale"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("image", "mask")
    DESCRIPTION = "Nearest-neighbour integer upscale (every pixel a crisp block)."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The sprite and the factor."""
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "Sprite batch (RGBA)."}),
                "factor": (
                    "INT",
                    {
                        "default": 8,
                        "min": 1,
                        "max": MAX_UPSCALE_FACTOR,
                        "tooltip": "Each pixel becomes factor x factor pixels.",
                    },
                ),
            }
        }

    def upscale(self, image: Any, factor: int) -> tuple[Any, Any]:
        """Upscale every frame."""
        return map_frames(image, lambda frame: upscale_nearest(frame, factor))
