"""The node registry: every node id of the pack, its class and its display name.

One explicit table, so what the pack registers is visible in one place. Each node
module is a thin adapter over `comfy_nodes.pixel`.
"""

from __future__ import annotations

from typing import Any, Final

from . import (
    background,
    cleanup,
    compare,
    downscale,
    grid,
    palette,
    pixelize,
    report,
    sheets,
    tiles,
    upscale,
    wang,
)

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]

_NODES: Final[tuple[tuple[str, type[Any], str], ...]] = (
    ("DGXP_PixelizeSprite", pixelize.PixelizeSprite, "Pixelize Sprite (DGX-Pixels)"),
    ("DGXP_DetectGrid", grid.DetectGrid, "Detect Pixel Grid (DGX-Pixels)"),
    ("DGXP_DownscaleToGrid", downscale.DownscaleToGrid, "Downscale To Grid (DGX-Pixels)"),
    ("DGXP_RemoveBackground", background.RemoveBackground, "Remove Background (DGX-Pixels)"),
    ("DGXP_SpriteReport", report.SpriteReport, "Sprite QA Report (DGX-Pixels)"),
    ("DGXP_LoadPalette", palette.LoadPalette, "Load Palette (DGX-Pixels)"),
    ("DGXP_QuantizeColors", palette.QuantizeColors, "Quantize Colors (DGX-Pixels)"),
    ("DGXP_DitherImage", palette.DitherImage, "Dither Image (DGX-Pixels)"),
    ("DGXP_AddOutline", cleanup.AddOutline, "Add Outline (DGX-Pixels)"),
    ("DGXP_RemoveOrphans", cleanup.RemoveOrphans, "Remove Orphan Pixels (DGX-Pixels)"),
    ("DGXP_MakeSeamless", tiles.MakeSeamless, "Make Seamless Tile (DGX-Pixels)"),
    ("DGXP_TilePreview", tiles.TilePreview, "Tile Preview 3x3 (DGX-Pixels)"),
    ("DGXP_TileReport", tiles.TileReport, "Tile QA Report (DGX-Pixels)"),
    ("DGXP_WangComposite", wang.WangComposite, "Corner Tile Set Composite (DGX-Pixels)"),
    ("DGXP_LockWangEdges", wang.LockWangEdges, "Lock Corner Tile Edges (DGX-Pixels)"),
    ("DGXP_PackAutotile", wang.PackAutotile, "Pack Autotile Atlas (DGX-Pixels)"),
    ("DGXP_AutotileReport", wang.AutotileReport, "Autotile QA Report (DGX-Pixels)"),
    ("DGXP_PackSpriteSheet", sheets.PackSpriteSheet, "Pack Sprite Sheet (DGX-Pixels)"),
    (
        "DGXP_AssembleAnimationSheet",
        sheets.AssembleAnimationSheet,
        "Assemble Animation Sheet (DGX-Pixels)",
    ),
    ("DGXP_SliceSpriteSheet", sheets.SliceSpriteSheet, "Slice Sprite Sheet (DGX-Pixels)"),
    ("DGXP_UpscalePreview", upscale.UpscalePreview, "Upscale Preview (DGX-Pixels)"),
    ("DGXP_SideBySide", compare.SideBySide, "Side By Side Compare (DGX-Pixels)"),
)

NODE_CLASS_MAPPINGS: Final[dict[str, type[Any]]] = {node_id: cls for node_id, cls, _ in _NODES}
NODE_DISPLAY_NAME_MAPPINGS: Final[dict[str, str]] = {node_id: name for node_id, _, name in _NODES}
