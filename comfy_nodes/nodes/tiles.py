"""Tile nodes: make a texture seamless (with its seam scores), preview it tiled, and the
tile QA report that carries the seam scores before and after."""

from __future__ import annotations

import json
from typing import Any

from ..pixel.tensors import image_tensor_to_rgba, map_frames, rgba_to_image_tensor
from ..pixel.tile_qa import seam_entries, tile_report
from ..pixel.tiles import MAX_PREVIEW_REPEAT, SEAM_THRESHOLD, fix_seams, tile_preview

__all__ = ["MakeSeamless", "TilePreview", "TileReport"]

_IMAGE = ("IMAGE", {"tooltip": "Tile batch (RGB or RGBA)."})


class MakeSeamless:
    """Blend each tile's edges with its middle so it repeats without a seam."""

    CATEGORY = "DGX-Pixels/tiles"
    FUNCTION = "seamless"
    RETURN_TYPES = ("IMAGE", "MASK", "STRING")
    RETURN_NAMES = ("image", "mask", "seam_json")
    DESCRIPTION = (
        f"Score each tile's wrap-around seams and make it seamless when a score is over "
        f"{SEAM_THRESHOLD}; seam_json has the scores before and after."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """Just the tiles."""
        return {"required": {"image": _IMAGE}}

    def seamless(self, image: Any) -> tuple[Any, Any, str]:
        """Fix every tile over the threshold and report
        ``[{before: [x, y], after: [x, y], made_seamless, threshold}, ...]``."""
        fixes = [fix_seams(frame) for frame in image_tensor_to_rgba(image)]
        out_image, out_mask = rgba_to_image_tensor([fix.tile for fix in fixes])
        return out_image, out_mask, json.dumps([fix.to_dict() for fix in fixes])


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


class TileReport:
    """The QA report of finished tiles, with each tile's seam scores before and after."""

    CATEGORY = "DGX-Pixels/tiles"
    FUNCTION = "report"
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("report_json",)
    OUTPUT_NODE = True
    DESCRIPTION = (
        "QA report per tile (as DGXP_SpriteReport) plus the render's seam scores before and "
        "after DGXP_MakeSeamless and the finished tile's own; a warning when a finished "
        "tile still shows a seam. Also goes out as ui text, which ComfyUI keeps in /history."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The finished tiles and the seam scores of their renders."""
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "Finished (pixelized) tiles."}),
                "seam_json": (
                    "STRING",
                    {"forceInput": True, "tooltip": "DGXP_MakeSeamless's seam_json."},
                ),
            }
        }

    def report(self, image: Any, seam_json: str) -> dict[str, Any]:
        """One report per tile; `result` is `(report_json,)` (a list for a batch)."""
        frames = image_tensor_to_rgba(image)
        seams = seam_entries(seam_json, len(frames))
        payload = [tile_report(f, s) for f, s in zip(frames, seams, strict=True)]
        report_json = json.dumps(payload[0] if len(payload) == 1 else payload)
        return {"ui": {"text": [json.dumps(one) for one in payload]}, "result": (report_json,)}
