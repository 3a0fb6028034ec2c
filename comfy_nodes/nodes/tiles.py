"""Tile nodes: make a texture seamless (with its seam scores) and preview it tiled."""

from __future__ import annotations

import json
from typing import Any

from ..pixel.tensors import image_tensor_to_rgba, map_frames, rgba_to_image_tensor
from ..pixel.tiles import MAX_PREVIEW_REPEAT, make_seamless, seam_score, tile_preview

__all__ = ["MakeSeamless", "TilePreview"]

_IMAGE = ("IMAGE", {"tooltip": "Tile batch (RGB or RGBA)."})


class MakeSeamless:
    """Blend each tile's edges with its middle so it repeats without a seam."""

    CATEGORY = "DGX-Pixels/tiles"
    FUNCTION = "seamless"
    RETURN_TYPES = ("IMAGE", "MASK", "STRING")
    RETURN_NAMES = ("image", "mask", "seam_json")
    DESCRIPTION = "Make tiles wrap seamlessly; reports the seam score before and after."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """Just the tiles."""
        return {"required": {"image": _IMAGE}}

    def seamless(self, image: Any) -> tuple[Any, Any, str]:
        """Fix every tile and report ``[{before: [x, y], after: [x, y]}, ...]``."""
        frames = image_tensor_to_rgba(image)
        fixed = [make_seamless(frame) for frame in frames]
        scores = [
            {"before": seam_score(a), "after": seam_score(b)}
            for a, b in zip(frames, fixed, strict=True)
        ]
        out_image, out_mask = rgba_to_image_tensor(fixed)
        return out_image, out_mask, json.dumps(scores)


class TilePreview:
    """Repeat each tile n x n times to judge the seams by eye."""

    CATEGORY = "DGX-Pixels/tiles"
    FUNCTION = "preview"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("preview",)
    DESCRIPTION = "A tiled preview (3x3 by default)."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The tile and the repeat count."""
        return {
            "required": {
                "image": _IMAGE,
                "repeat": (
                    "INT",
                    {
                        "default": 3,
                        "min": 1,
                        "max": MAX_PREVIEW_REPEAT,
                        "tooltip": "Tiles per side.",
                    },
                ),
            }
        }

    def preview(self, image: Any, repeat: int) -> tuple[Any]:
        """Tile every frame."""
        preview, _ = map_frames(image, lambda frame: tile_preview(frame, repeat))
        return (preview,)
