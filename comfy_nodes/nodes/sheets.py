"""Sprite-sheet nodes: assemble rendered frames into an animation sheet, pack a frame batch
into a sheet with an Aseprite atlas, slice a sheet."""

from __future__ import annotations

import json
from typing import Any

from ..pixel.animation_sheet import SheetLayout, assemble_sheet
from ..pixel.pipeline import options_from_widgets
from ..pixel.sheets import pack_sheet, parse_tags, slice_sheet
from ..pixel.tensors import image_tensor_to_rgba, rgba_to_image_tensor
from .pixelize import PixelizeSprite

__all__ = ["AssembleAnimationSheet", "PackSpriteSheet", "SliceSpriteSheet"]

# The pixelize widgets the sheet shares with DGXP_PixelizeSprite (same names and ranges).
_PIXELIZE_WIDGETS: tuple[str, ...] = (
    "sprite_size",
    "palette",
    "colors",
    "dither",
    "remove_background",
    "outline",
    "seed",
)


def _pixelize_inputs() -> dict[str, Any]:
    spec = PixelizeSprite.INPUT_TYPES()
    return {name: spec["required"][name] for name in _PIXELIZE_WIDGETS}


class AssembleAnimationSheet:
    """Rendered frames (direction by direction) in; one aligned, palette-locked sheet out."""

    CATEGORY = "DGX-Pixels/sheets"
    FUNCTION = "assemble"
    RETURN_TYPES = ("IMAGE", "MASK", "IMAGE", "STRING", "STRING")
    RETURN_NAMES = ("sheet", "mask", "frames", "atlas_json", "report_json")
    OUTPUT_NODE = True
    DESCRIPTION = (
        "Pixelize every frame with one grid and one palette, align them on one pivot (feet "
        "row, centre column), pack one row per direction. The Aseprite atlas, the Bevy atlas "
        "and the QA report with the sheet's consistency figures also go out as ui "
        "(atlas, bevy_atlas, report), which ComfyUI keeps in /history."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """Frames, their layout and timing, and the pixelize widgets."""
        return {
            "required": {
                "frames": (
                    "IMAGE",
                    {"tooltip": "Every frame, direction by direction (e.g. via ImageBatch)."},
                ),
                "directions": (
                    "STRING",
                    {
                        "default": "down,left,right,up",
                        "tooltip": "Sheet rows, comma-separated; tags are <animation>_<row>.",
                    },
                ),
                "frames_per_direction": (
                    "INT",
                    {"default": 4, "min": 1, "max": 64, "tooltip": "Frames of each row."},
                ),
                "animation": (
                    "STRING",
                    {"default": "walk", "tooltip": "Animation name, the tags' prefix."},
                ),
                "frame_ms": (
                    "INT",
                    {"default": 150, "min": 1, "max": 60000, "tooltip": "Each frame's time."},
                ),
                **_pixelize_inputs(),
                "image_name": (
                    "STRING",
                    {"default": "sheet.png", "tooltip": "Sheet file name the atlases name."},
                ),
            },
            "optional": {
                "key_color": (
                    "STRING",
                    {"default": "", "tooltip": 'Background "#RRGGBB" for remove_background=key.'},
                ),
            },
        }

    def assemble(
        self,
        frames: Any,
        directions: str,
        frames_per_direction: int,
        animation: str,
        frame_ms: int,
        image_name: str,
        **widgets: Any,
    ) -> dict[str, Any]:
        """Assemble the sheet; `ui` carries the atlases and the report as JSON text."""
        layout = SheetLayout.parse(directions, frames_per_direction, animation, frame_ms)
        options = options_from_widgets(**widgets)
        made = assemble_sheet(image_tensor_to_rgba(frames), layout, options, image_name=image_name)
        sheet, mask = rgba_to_image_tensor([made.sheet])
        aligned, _ = rgba_to_image_tensor(list(made.frames))
        atlas, bevy, report = (json.dumps(x) for x in (made.aseprite, made.bevy, made.report))
        ui = {"atlas": [atlas], "bevy_atlas": [bevy], "report": [report]}
        return {"ui": ui, "result": (sheet, mask, aligned, atlas, report)}


class PackSpriteSheet:
    """All frames of a batch on one sheet, plus its Aseprite JSON atlas."""

    CATEGORY = "DGX-Pixels/sheets"
    FUNCTION = "pack"
    RETURN_TYPES = ("IMAGE", "MASK", "STRING")
    RETURN_NAMES = ("sheet", "mask", "atlas_json")
    DESCRIPTION = (
        "Pack frames row by row; the atlas uses Aseprite's JSON array format. The atlas also "
        "goes out as ui text, which ComfyUI keeps in /history."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """Frames, layout, timing, tags and the sheet's file name."""
        return {
            "required": {
                "frames": ("IMAGE", {"tooltip": "Frame batch, all the same size (RGBA)."}),
                "columns": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 256,
                        "tooltip": "Frames per row; 0 = near-square.",
                    },
                ),
                "frame_ms": (
                    "INT",
                    {
                        "default": 100,
                        "min": 1,
                        "max": 60000,
                        "tooltip": "Duration of every frame in ms.",
                    },
                ),
                "tags": (
                    "STRING",
                    {"default": "", "tooltip": 'Animations, e.g. "walk:0-3, idle:4-5:pingpong".'},
                ),
                "image_name": (
                    "STRING",
                    {"default": "sheet.png", "tooltip": "Sheet file name recorded in the atlas."},
                ),
            }
        }

    def pack(
        self, frames: Any, columns: int, frame_ms: int, tags: str, image_name: str
    ) -> dict[str, Any]:
        """Pack the batch and serialise the atlas.

        Returns:
            ComfyUI's `{"ui", "result"}` form: `result` is `(sheet, mask, atlas_json)`;
            `ui.text` repeats the atlas so `/history` and the `executed` message carry
            it (ComfyUI keeps STRING outputs to itself).
        """
        sheet, atlas = pack_sheet(
            image_tensor_to_rgba(frames), columns, frame_ms, parse_tags(tags), image_name=image_name
        )
        out_image, out_mask = rgba_to_image_tensor([sheet])
        atlas_json = json.dumps(atlas, indent=1)
        return {"ui": {"text": [atlas_json]}, "result": (out_image, out_mask, atlas_json)}


class SliceSpriteSheet:
    """Cut a sheet into equal cells, returned as one batch (row by row)."""

    CATEGORY = "DGX-Pixels/sheets"
    FUNCTION = "slice"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("frames", "mask")
    DESCRIPTION = "Slice a sprite sheet into its frames."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The sheet and its grid."""
        return {
            "required": {
                "sheet": ("IMAGE", {"tooltip": "The sprite sheet (a batch slices each sheet)."}),
                "columns": (
                    "INT",
                    {"default": 4, "min": 1, "max": 256, "tooltip": "Cells across."},
                ),
                "rows": ("INT", {"default": 1, "min": 1, "max": 256, "tooltip": "Cells down."}),
                "skip_empty": (
                    "BOOLEAN",
                    {"default": True, "tooltip": "Drop fully transparent cells."},
                ),
            }
        }

    def slice(self, sheet: Any, columns: int, rows: int, skip_empty: bool) -> tuple[Any, Any]:
        """Slice every sheet of the batch and concatenate the cells."""
        cells = [
            cell
            for page in image_tensor_to_rgba(sheet)
            for cell in slice_sheet(page, columns, rows, skip_empty=skip_empty)
        ]
        return rgba_to_image_tensor(cells)
