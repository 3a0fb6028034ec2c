"""DGXP_DetectGrid: find the pixel lattice of pseudo pixel art (cell size, phase, count)."""

from __future__ import annotations

import json
from typing import Any

from ..pixel.grid import detect_grid, detect_grid_frames
from ..pixel.pipeline import parse_size
from ..pixel.tensors import image_tensor_to_rgba

__all__ = ["DetectGrid"]


class DetectGrid:
    """One grid for the batch (frames of one size share it), as DGXP_GRID and JSON."""

    CATEGORY = "DGX-Pixels/grid"
    FUNCTION = "detect"
    RETURN_TYPES = ("DGXP_GRID", "STRING")
    RETURN_NAMES = ("grid", "grid_json")
    DESCRIPTION = "Cell size (may be fractional), offset, cell count and a 0..1 confidence."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The picture and an optional size prior."""
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "Pseudo pixel art; a batch shares one grid."}),
                "sprite_size": (
                    "STRING",
                    {"default": "auto", "tooltip": '"auto" or "WxH" as a prior, e.g. "32x32".'},
                ),
            }
        }

    def detect(self, image: Any, sprite_size: str = "auto") -> tuple[Any, str]:
        """Detect the grid of the batch."""
        frames = image_tensor_to_rgba(image)
        hint = parse_size(sprite_size)
        same = len({f.shape for f in frames}) == 1
        grid = detect_grid_frames(frames, hint) if same else detect_grid(frames[0], hint)
        return grid, json.dumps(grid.to_dict())
