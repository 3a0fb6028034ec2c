"""DGXP_DownscaleToGrid: one colour per grid cell, read robustly from each cell's inside."""

from __future__ import annotations

from typing import Any

from ..pixel.downscale import downscale_to_grid
from ..pixel.grid import GridEstimate
from ..pixel.modes import DOWNSCALE_MODES
from ..pixel.tensors import map_frames

__all__ = ["DownscaleToGrid"]


class DownscaleToGrid:
    """Downscale every frame onto a detected grid (DGXP_DetectGrid)."""

    CATEGORY = "DGX-Pixels/grid"
    FUNCTION = "downscale"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("sprite", "mask")
    DESCRIPTION = "Grid-exact downscale: robust per-cell colour, RGBA out."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The picture, its grid and the per-cell colour mode."""
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The picture the grid was detected on."}),
                "grid": ("DGXP_GRID", {"tooltip": "From DGXP_DetectGrid."}),
                "mode": (
                    list(DOWNSCALE_MODES),
                    {
                        "default": DOWNSCALE_MODES.default,
                        "tooltip": "robust resists blur, noise and strays.",
                    },
                ),
            }
        }

    def downscale(self, image: Any, grid: GridEstimate, mode: str = "robust") -> tuple[Any, Any]:
        """Downscale each frame."""
        return map_frames(image, lambda f: downscale_to_grid(f, grid, mode))
