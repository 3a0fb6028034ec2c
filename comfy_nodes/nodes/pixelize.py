"""DGXP_PixelizeSprite: the all-in-one node every workflow template uses.

Published inputs (stable since 17:45 UTC; workflow templates bind to these names):

    required:
        image              IMAGE    SDXL output, [B, H, W, C] float 0..1 (RGB or RGBA)
        sprite_size        STRING   "auto" or "WxH" (e.g. "32x32"), default "auto"
        palette            COMBO    "auto" or a built-in name (pico-8, gameboy, nes, ...)
        colors             INT      0 (auto: picked from the image) or 2..256, default 0
        dither             COMBO    pixel.modes.DITHER_MODES, default "none"
        remove_background  COMBO    pixel.modes.BACKGROUND_MODES, default "auto"
        outline            BOOLEAN  default False
        seed               INT      0..2**32-1, default 0 (palette k-means seed)
    optional:
        key_color          STRING   "#RRGGBB" for remove_background="key", default ""
        cleanup            BOOLEAN  remove orphan pixels, default False
        downscale_mode     COMBO    pixel.modes.DOWNSCALE_MODES, default "robust"
        mask               MASK     alpha for the image (1 = transparent), e.g. LoadImage's

Returns ``("IMAGE", "MASK", "STRING")``: the RGBA sprite ``[B, h, w, 4]``, its mask
``[B, h, w]`` with 1 = transparent, and the QA report as JSON. A batch shares one palette;
each image gets its own grid (sprites of different sizes are padded with transparency).

The sprite is 4-channel RGBA. ComfyUI's own 3-channel nodes (e.g. core ImageQuantize,
which fails with "Invalid mode for data type") need RGB: put core SplitImageWithAlpha
after the sprite (RGB image + mask), or JoinImageWithAlpha to rebuild RGBA later.
"""

from __future__ import annotations

from typing import Any

from ..pixel.modes import BACKGROUND_MODES, DITHER_MODES, DOWNSCALE_MODES, PALETTE_SIZES
from ..pixel.palettes_builtin import builtin_palette_names
from ..pixel.pipeline import options_from_widgets, pixelize_batch
from ..pixel.tensors import image_tensor_to_rgba, rgba_to_image_tensor

__all__ = ["PixelizeSprite"]


def _palette_choices() -> list[str]:
    return ["auto", *builtin_palette_names()]


class PixelizeSprite:
    """SDXL pseudo pixel art in, a clean grid-exact, palette-locked RGBA sprite out."""

    CATEGORY = "DGX-Pixels/pixelize"
    FUNCTION = "pixelize"
    RETURN_TYPES = ("IMAGE", "MASK", "STRING")
    RETURN_NAMES = ("sprite", "mask", "report_json")
    DESCRIPTION = (
        "Detect the pixel grid, downscale, lock the palette, remove the background. The "
        "sprite is RGBA (4 channels): for ComfyUI nodes that need RGB (e.g. ImageQuantize) "
        "put SplitImageWithAlpha after it."
    )
    OUTPUT_TOOLTIPS = (
        "RGBA sprite [B, h, w, 4]; SplitImageWithAlpha gives RGB for 3-channel nodes.",
        "Transparency of the sprite (1 = transparent), as LoadImage's mask.",
        "QA report as JSON (one object, or a list for a batch).",
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """ComfyUI's input spec (names are a published contract, see the module doc)."""
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "SDXL pseudo pixel art (RGB or RGBA)."}),
                "sprite_size": (
                    "STRING",
                    {
                        "default": "auto",
                        "tooltip": '"auto" detects the grid; "WxH" (e.g. '
                        '"32x32") is a prior for the sprite size.',
                    },
                ),
                "palette": (
                    _palette_choices(),
                    {
                        "default": "auto",
                        "tooltip": '"auto" builds one from the image(s); '
                        "or lock to a built-in palette.",
                    },
                ),
                "colors": (
                    "INT",
                    {
                        "default": PALETTE_SIZES.widget_auto,
                        "min": PALETTE_SIZES.widget_auto,
                        "max": PALETTE_SIZES.maximum,
                        "tooltip": 'Palette size when palette is "auto": '
                        f"{PALETTE_SIZES.widget_auto} picks it from the image, "
                        f"or {PALETTE_SIZES.minimum}..{PALETTE_SIZES.maximum}.",
                    },
                ),
                "dither": (
                    list(DITHER_MODES),
                    {
                        "default": DITHER_MODES.default,
                        "tooltip": "Dithering when mapping to the palette.",
                    },
                ),
                "remove_background": (
                    list(BACKGROUND_MODES),
                    {
                        "default": BACKGROUND_MODES.default,
                        "tooltip": "auto/border: flood the border colour "
                        "and enclosed holes; key: remove key_color; none: keep.",
                    },
                ),
                "outline": (
                    "BOOLEAN",
                    {"default": False, "tooltip": "Add a 1-px dark outline around the sprite."},
                ),
                "seed": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 2**32 - 1,
                        "tooltip": "Seed of the palette k-means (same seed, same palette).",
                    },
                ),
            },
            "optional": {
                "key_color": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": 'Background key "#RRGGBB" for remove_background="key".',
                    },
                ),
                "cleanup": (
                    "BOOLEAN",
                    {"default": False, "tooltip": "Remove orphan (isolated single) pixels."},
                ),
                "downscale_mode": (
                    list(DOWNSCALE_MODES),
                    {
                        "default": DOWNSCALE_MODES.default,
                        "tooltip": "How each cell's colour is read.",
                    },
                ),
                "mask": (
                    "MASK",
                    {
                        "tooltip": "Optional alpha for the image (1 = transparent), as LoadImage "
                        "gives it; an image that has alpha keeps it."
                    },
                ),
            },
        }

    def pixelize(self, image: Any, mask: Any = None, **widgets: Any) -> tuple[Any, Any, str]:
        """Run ``pipeline.pixelize_batch`` over the batch and return sprite, mask, report."""
        frames = image_tensor_to_rgba(image, mask)
        batch = pixelize_batch(frames, options_from_widgets(**widgets))
        sprite, mask = rgba_to_image_tensor(batch.sprites)
        return sprite, mask, batch.report_json()
