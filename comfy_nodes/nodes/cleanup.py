"""Cleanup nodes: a 1-px outer outline and orphan-pixel removal."""

from __future__ import annotations

from typing import Any

from ..pixel.orphans import remove_orphans
from ..pixel.outline import add_outline
from ..pixel.palette import parse_hex_color
from ..pixel.tensors import map_frames

__all__ = ["AddOutline", "RemoveOrphans"]

_IMAGE = ("IMAGE", {"tooltip": "Sprite batch with transparency (RGBA, or RGB + mask)."})
_MASK = ("MASK", {"tooltip": "Optional mask, 1 = transparent; replaces the image's alpha."})


class AddOutline:
    """Draw a 1-px outline on the transparent pixels around each sprite."""

    CATEGORY = "DGX-Pixels/cleanup"
    FUNCTION = "outline"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("image", "mask")
    DESCRIPTION = "1-px outer outline (4-neighbourhood) in a chosen or automatic dark colour."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The sprite and the outline colour."""
        return {
            "required": {
                "image": _IMAGE,
                "color": (
                    "STRING",
                    {
                        "default": "auto",
                        "tooltip": '"auto" (a dark shade of the sprite\'s darkest '
                        'colour) or "#RRGGBB".',
                    },
                ),
            },
            "optional": {"mask": _MASK},
        }

    def outline(self, image: Any, color: str, mask: Any = None) -> tuple[Any, Any]:
        """Outline every frame."""
        chosen = None if color.strip().lower() in ("", "auto") else parse_hex_color(color)
        return map_frames(image, lambda frame: add_outline(frame, chosen), mask)


class RemoveOrphans:
    """Replace lone pixels (no same-coloured neighbour) by their neighbours' majority."""

    CATEGORY = "DGX-Pixels/cleanup"
    FUNCTION = "clean"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("image", "mask")
    DESCRIPTION = "Orphan-pixel removal for grid-exact sprites."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The sprite and how much contrast a lone pixel may have and still go."""
        return {
            "required": {
                "image": _IMAGE,
                "max_contrast": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": 2.0,
                        "step": 0.01,
                        "tooltip": "0 replaces every orphan; e.g. 0.25 (OKLab) keeps "
                        "high-contrast 1-px details such as eyes and glints.",
                    },
                ),
            },
            "optional": {"mask": _MASK},
        }

    def clean(self, image: Any, max_contrast: float, mask: Any = None) -> tuple[Any, Any]:
        """Clean every frame."""
        limit = max_contrast if max_contrast > 0.0 else None
        return map_frames(image, lambda frame: remove_orphans(frame, limit), mask)
