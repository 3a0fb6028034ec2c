"""DGXP_RemoveBackground: hard-alpha background removal on a grid-exact sprite."""

from __future__ import annotations

from typing import Any

from ..pixel.alpha import DEFAULT_TOLERANCE, remove_background
from ..pixel.modes import BACKGROUND_MODES
from ..pixel.palette import parse_hex_color
from ..pixel.tensors import map_frames

__all__ = ["RemoveBackground"]


class RemoveBackground:
    """Border-connected background plus enclosed holes, or a key colour; alpha 0/255."""

    CATEGORY = "DGX-Pixels/alpha"
    FUNCTION = "remove"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("sprite", "mask")
    DESCRIPTION = "Run after the downscale: one decision per sprite pixel."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The sprite, the mode, the key colour and the tolerance."""
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "Grid-exact sprite (RGB or RGBA)."}),
                "mode": (
                    list(BACKGROUND_MODES),
                    {
                        "default": BACKGROUND_MODES.default,
                        "tooltip": "auto: keep existing alpha or flood the "
                        "border colour and holes; border; key; none.",
                    },
                ),
                "tolerance": (
                    "FLOAT",
                    {
                        "default": DEFAULT_TOLERANCE,
                        "min": 0.0,
                        "max": 1.0,
                        "step": 0.01,
                        "tooltip": "OKLab distance still counted as background.",
                    },
                ),
            },
            "optional": {
                "key_color": ("STRING", {"default": "", "tooltip": '"#RRGGBB" for mode key.'}),
                "mask": ("MASK", {"tooltip": "Optional mask (1 = transparent) as alpha."}),
            },
        }

    def remove(
        self, image: Any, mode: str, tolerance: float, key_color: str = "", mask: Any = None
    ) -> tuple[Any, Any]:
        """Remove the background of every frame."""
        key = parse_hex_color(key_color) if key_color.strip() else None
        return map_frames(image, lambda f: remove_background(f, mode, key, tolerance), mask)
