"""Corner (Wang) tile-set nodes: composite two terrains into 16 tiles, keep their edges
through an img2img pass, pack the atlas with a random-map preview, and report the edges.

The index convention (NE=1, SE=2, SW=4, NW=8; 1 = upper terrain) is `pixel.wang`'s.
"""

from __future__ import annotations

import json
from typing import Any

from ..pixel.tensors import image_tensor_to_rgba, rgba_to_image_tensor
from ..pixel.tile_qa import autotile_report, seam_entries
from ..pixel.wang import MAX_MAP_TILES, composite_wang, lock_edges, pack_atlas, random_map

__all__ = ["AutotileReport", "LockWangEdges", "PackAutotile", "WangComposite"]

_CATEGORY = "DGX-Pixels/tiles"
_SEED = (
    "INT",
    {"default": 0, "min": 0, "max": 2**32 - 1, "tooltip": "Seed of the border noise."},
)


def _first(image: Any) -> Any:
    return image_tensor_to_rgba(image)[0]


class WangComposite:
    """The 16 tiles of a two-terrain corner set, composited through corner masks."""

    CATEGORY = _CATEGORY
    FUNCTION = "composite"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("tiles", "mask")
    DESCRIPTION = (
        "16 tiles in index order (NE=1, SE=2, SW=4, NW=8; 1 = upper terrain), mixed from two "
        "seamless terrains of one size. Feed them to VAEEncode for a low-denoise blend."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The two terrains and the border shape."""
        return {
            "required": {
                "lower": ("IMAGE", {"tooltip": "Terrain at 0-corners (first image used)."}),
                "upper": ("IMAGE", {"tooltip": "Terrain at 1-corners, same size."}),
                "seed": _SEED,
                "roughness": (
                    "FLOAT",
                    {
                        "default": 0.1,
                        "min": 0.0,
                        "max": 0.45,
                        "step": 0.01,
                        "tooltip": "How ragged the border is (0 = smooth curves).",
                    },
                ),
                "softness": (
                    "FLOAT",
                    {
                        "default": 0.08,
                        "min": 0.0,
                        "max": 0.5,
                        "step": 0.01,
                        "tooltip": "Width of the soft border (0 = hard).",
                    },
                ),
            }
        }

    def composite(
        self, lower: Any, upper: Any, seed: int, roughness: float, softness: float
    ) -> tuple[Any, Any]:
        """Composite and return the batch of 16."""
        tiles = composite_wang(
            _first(lower), _first(upper), seed=seed, roughness=roughness, softness=softness
        )
        return rgba_to_image_tensor(tiles)


class LockWangEdges:
    """Keep the composite's border ring after an img2img pass, so the edges still match."""

    CATEGORY = _CATEGORY
    FUNCTION = "lock"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("tiles", "mask")
    DESCRIPTION = (
        "The blended tiles inside, the composited tiles on a border ring (band of the "
        "shorter side), so tiles that share corners still continue into each other."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """Blended and original tiles, and the band."""
        return {
            "required": {
                "blended": ("IMAGE", {"tooltip": "The tiles after the img2img pass."}),
                "original": ("IMAGE", {"tooltip": "DGXP_WangComposite's tiles."}),
                "band": (
                    "FLOAT",
                    {
                        "default": 0.0625,
                        "min": 0.0,
                        "max": 0.25,
                        "step": 0.0025,
                        "tooltip": "Ring width as a fraction of the side (then as much fade).",
                    },
                ),
            }
        }

    def lock(self, blended: Any, original: Any, band: float) -> tuple[Any, Any]:
        """Lock every tile's ring."""
        pairs = zip(image_tensor_to_rgba(blended), image_tensor_to_rgba(original), strict=True)
        return rgba_to_image_tensor([lock_edges(new, old, band) for new, old in pairs])


class PackAutotile:
    """The 4x4 atlas of a corner set, its JSON layout and a random map made from it."""

    CATEGORY = _CATEGORY
    FUNCTION = "pack"
    RETURN_TYPES = ("IMAGE", "STRING", "IMAGE")
    RETURN_NAMES = ("atlas", "atlas_json", "map_preview")
    OUTPUT_NODE = True
    DESCRIPTION = (
        "Atlas 4 tiles across in index order (tile i at column i % 4, row i // 4), a JSON "
        "layout for tilemaps, and a random map built from the set. The JSON also goes out "
        "as ui text, which ComfyUI keeps in /history."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """The 16 finished tiles and the preview map's size."""
        side = {"default": 8, "min": 1, "max": MAX_MAP_TILES}
        return {
            "required": {
                "tiles": ("IMAGE", {"tooltip": "16 finished tiles in index order."}),
                "map_columns": ("INT", {**side, "tooltip": "Preview map width in tiles."}),
                "map_rows": ("INT", {**side, "tooltip": "Preview map height in tiles."}),
                "seed": ("INT", {**_SEED[1], "tooltip": "Seed of the random map."}),
                "image_name": (
                    "STRING",
                    {"default": "autotile.png", "tooltip": "Atlas file name in the JSON."},
                ),
            }
        }

    def pack(
        self, tiles: Any, map_columns: int, map_rows: int, seed: int, image_name: str
    ) -> dict[str, Any]:
        """Pack; `result` is `(atlas, atlas_json, map_preview)`, `ui.text` the JSON."""
        frames = image_tensor_to_rgba(tiles)
        atlas, layout = pack_atlas(frames, image_name)
        preview, _ = random_map(frames, map_columns, map_rows, seed)
        atlas_json = json.dumps(layout, indent=1)
        atlas_image, _ = rgba_to_image_tensor([atlas])
        preview_image, _ = rgba_to_image_tensor([preview])
        return {"ui": {"text": [atlas_json]}, "result": (atlas_image, atlas_json, preview_image)}


class AutotileReport:
    """The QA report of a corner set: the atlas's report, terrain seams, every edge pair."""

    CATEGORY = _CATEGORY
    FUNCTION = "report"
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("report_json",)
    OUTPUT_NODE = True
    DESCRIPTION = (
        "Checks that every pair of tiles that can touch continues into each other (a "
        "warning names each mismatch) and carries the terrains' seam scores before and "
        "after. Also goes out as ui text, which ComfyUI keeps in /history."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """Atlas, tiles and the terrains' seam JSON."""
        seams = {"forceInput": True}
        return {
            "required": {
                "atlas": ("IMAGE", {"tooltip": "DGXP_PackAutotile's atlas."}),
                "tiles": ("IMAGE", {"tooltip": "The 16 finished tiles in index order."}),
                "lower_seams": (
                    "STRING",
                    {**seams, "tooltip": "seam_json of the lower terrain's DGXP_MakeSeamless."},
                ),
                "upper_seams": (
                    "STRING",
                    {**seams, "tooltip": "seam_json of the upper terrain's DGXP_MakeSeamless."},
                ),
            }
        }

    def report(self, atlas: Any, tiles: Any, lower_seams: str, upper_seams: str) -> dict[str, Any]:
        """Report; `result` is `(report_json,)`, `ui.text` the same JSON."""
        terrains = {
            "lower": seam_entries(lower_seams, 1)[0],
            "upper": seam_entries(upper_seams, 1)[0],
        }
        payload = autotile_report(_first(atlas), image_tensor_to_rgba(tiles), terrains)
        report_json = json.dumps(payload)
        return {"ui": {"text": [report_json]}, "result": (report_json,)}
