"""Side-by-side node: two to four sprite branches (base vs LoRA, ...) in one image."""

from __future__ import annotations

from typing import Any, get_args

from ..pixel.compare import (
    AUTO_SCALE,
    MAX_GAP,
    VerticalAlign,
    parse_background,
    side_by_side,
    zip_batches,
)
from ..pixel.tensors import image_tensor_to_rgba, rgba_to_image_tensor
from ..pixel.upscale import MAX_UPSCALE_FACTOR

__all__ = ["SideBySide"]

_ALIGNS = list(get_args(VerticalAlign))


def _image(which: str) -> tuple[str, dict[str, str]]:
    return ("IMAGE", {"tooltip": f"{which} (RGBA); a batch pairs up item by item."})


class SideBySide:
    """Lay 2-4 images out in one row, left to right (a, b, c, d), enlarged for viewing.

    Batches pair up: row i of the output holds image i of every input; an input with a
    single image is repeated on every row; other uneven batch sizes are refused.
    """

    CATEGORY = "DGX-Pixels/preview"
    FUNCTION = "compare"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("image", "mask")
    DESCRIPTION = (
        "Side by side comparison of 2-4 images (e.g. base vs LoRA): bottom-aligned on a "
        "transparent canvas, nearest-neighbour enlarged."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """Two required images, two optional ones, and the layout."""
        return {
            "required": {
                "image_a": _image("Leftmost image, e.g. the base sprite"),
                "image_b": _image("Second image, e.g. the LoRA sprite"),
                "gap": (
                    "INT",
                    {
                        "default": 1,
                        "min": 0,
                        "max": MAX_GAP,
                        "tooltip": "Pixels between images, before the enlargement.",
                    },
                ),
                "scale": (
                    "INT",
                    {
                        "default": AUTO_SCALE,
                        "min": AUTO_SCALE,
                        "max": MAX_UPSCALE_FACTOR,
                        "tooltip": "Nearest-neighbour factor; 0 = auto (about 256 px tall).",
                    },
                ),
                "background": (
                    "STRING",
                    {"default": "transparent", "tooltip": '"transparent" or "#RRGGBB".'},
                ),
                "align": (
                    _ALIGNS,
                    {"default": "bottom", "tooltip": "Where a shorter image sits in the row."},
                ),
            },
            "optional": {
                "image_c": _image("Optional third image"),
                "image_d": _image("Optional fourth image"),
            },
        }

    def compare(
        self,
        image_a: Any,
        image_b: Any,
        gap: int,
        scale: int,
        background: str,
        align: str,
        image_c: Any = None,
        image_d: Any = None,
    ) -> tuple[Any, Any]:
        """One comparison row per batch item (see the class docstring)."""
        given = {"image_a": image_a, "image_b": image_b, "image_c": image_c, "image_d": image_d}
        batches = {k: image_tensor_to_rgba(v) for k, v in given.items() if v is not None}
        fill = parse_background(background)
        rows = [
            side_by_side(row, gap, fill, scale, align)  # type: ignore[arg-type]
            for row in zip_batches(batches)
        ]
        return rgba_to_image_tensor(rows)
