"""DGXP_SpriteReport: the QA report of finished sprites, as JSON a graph can branch on."""

from __future__ import annotations

import json
from typing import Any

from ..pixel.qa import qa_report
from ..pixel.tensors import image_tensor_to_rgba

__all__ = ["SpriteReport"]


class SpriteReport:
    """Pixel-perfect, colours, palette conformance, alpha, seams (for tiles)."""

    CATEGORY = "DGX-Pixels/qa"
    FUNCTION = "report"
    RETURN_TYPES = ("STRING", "BOOLEAN")
    RETURN_NAMES = ("report_json", "pixel_perfect")
    OUTPUT_NODE = True
    DESCRIPTION = (
        "QA report per sprite; pixel_perfect is true when every sprite is. The report also "
        "goes out as ui text (one JSON object per sprite), which ComfyUI keeps in /history."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The sprites and optionally the grid they were read with."""
        return {
            "required": {"image": ("IMAGE", {"tooltip": "Grid-exact sprites (RGBA)."})},
            "optional": {
                "grid": ("DGXP_GRID", {"tooltip": "From DGXP_DetectGrid, for its confidence."}),
                "mask": ("MASK", {"tooltip": "Optional mask (1 = transparent) as alpha."}),
            },
        }

    def report(self, image: Any, grid: Any = None, mask: Any = None) -> dict[str, Any]:
        """Report on every frame.

        Returns:
            ComfyUI's `{"ui", "result"}` form: `result` is `(report_json, pixel_perfect)`
            (one object for one sprite, a list for a batch); `ui.text` holds one JSON
            object per sprite, because ComfyUI keeps STRING outputs out of `/history`,
            while `ui` goes into it and into the `executed` message the editor gets.
        """
        reports = [qa_report(f, grid=grid) for f in image_tensor_to_rgba(image, mask)]
        payload = [r.to_dict() for r in reports]
        perfect = all(r.pixel_perfect for r in reports)
        report_json = json.dumps(payload[0] if len(payload) == 1 else payload)
        return {
            "ui": {"text": [json.dumps(one) for one in payload]},
            "result": (report_json, perfect),
        }
