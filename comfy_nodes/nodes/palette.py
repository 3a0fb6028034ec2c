"""Palette nodes: load a palette, quantize to a built or given palette, dither onto one.

`DGXP_PALETTE` is this pack's wire type for a `pixel.palette.Palette`, so one palette can
feed several nodes (a whole sprite set locked to the same colours).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, get_args

from ..pixel.dither import DitherSpace, dither_to_palette
from ..pixel.modes import DITHER_MODES
from ..pixel.palette import Palette, palette_swatches, resolve_palette
from ..pixel.palettes_builtin import builtin_palette_names
from ..pixel.quantize import QuantizeMethod, build_palette, map_to_palette
from ..pixel.tensors import image_tensor_to_rgba, map_frames, rgba_to_image_tensor

__all__ = ["PALETTE_TYPE", "DitherImage", "LoadPalette", "QuantizeColors"]

PALETTE_TYPE = "DGXP_PALETTE"

_IMAGE = ("IMAGE", {"tooltip": "Image batch [B, H, W, C], RGB or RGBA."})
_MASK = ("MASK", {"tooltip": "Optional mask, 1 = transparent; replaces the image's alpha."})


def _dither_input() -> tuple[list[str], dict[str, Any]]:
    # Read when ComfyUI asks, so the combo is always the registry's current list.
    return (
        list(DITHER_MODES),
        {
            "default": DITHER_MODES.default,
            "tooltip": "none keeps flat colours; Floyd–Steinberg or Bayer add texture.",
        },
    )


class LoadPalette:
    """A built-in palette, or one read from a .hex/.gpl/.pal/.png file."""

    CATEGORY = "DGX-Pixels/palette"
    FUNCTION = "load"
    RETURN_TYPES = (PALETTE_TYPE, "IMAGE", "STRING")
    RETURN_NAMES = ("palette", "swatches", "hex_codes")
    DESCRIPTION = "Pick a built-in palette or load a palette file."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """Built-in name, or a file path that overrides it."""
        return {
            "required": {
                "palette": (
                    list(builtin_palette_names()),
                    {"default": "pico-8", "tooltip": "Built-in palette (exact published colours)."},
                )
            },
            "optional": {
                "file": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": "Path of a .hex, .gpl, .pal or .png palette; "
                        "when set it replaces the built-in choice.",
                    },
                )
            },
        }

    @classmethod
    def IS_CHANGED(cls, palette: str, file: str = "") -> str:
        """The file's content hash, so an edited palette file re-runs the node.

        ComfyUI (and the engine) otherwise reuse the cached result while the inputs, here
        just the path, stay the same: verified on ComfyUI 0.3.64.
        """
        path = file.strip()
        if not path:
            return palette
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError:
            return f"unreadable:{path}"  # load() then raises the clear error
        return hashlib.sha256(data).hexdigest()

    def load(self, palette: str, file: str = "") -> tuple[Palette, Any, str]:
        """Resolve the palette and draw its swatches."""
        chosen = resolve_palette(file.strip() or palette)
        swatches, _ = rgba_to_image_tensor([palette_swatches(chosen)])
        return chosen, swatches, " ".join(chosen.hex_codes())


class QuantizeColors:
    """Reduce a batch to one shared palette (built here, or the one connected)."""

    CATEGORY = "DGX-Pixels/palette"
    FUNCTION = "quantize"
    RETURN_TYPES = ("IMAGE", "MASK", PALETTE_TYPE)
    RETURN_NAMES = ("image", "mask", "palette")
    DESCRIPTION = "Perceptual (OKLab) k-means or median cut, shared across the batch."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """Palette size, method, dither and seed; an optional fixed palette."""
        return {
            "required": {
                "image": _IMAGE,
                "colors": (
                    "INT",
                    {
                        "default": 16,
                        "min": 2,
                        "max": 256,
                        "tooltip": "Palette size to build (2-256).",
                    },
                ),
                "method": (
                    list(get_args(QuantizeMethod)),
                    {"default": "kmeans", "tooltip": "kmeans: best quality; median_cut: fastest."},
                ),
                "dither": _dither_input(),
                "seed": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 2**32 - 1,
                        "tooltip": "k-means seed: same seed, same palette.",
                    },
                ),
            },
            "optional": {
                "palette": (
                    PALETTE_TYPE,
                    {"tooltip": "Lock to this palette instead of building one."},
                ),
                "mask": _MASK,
            },
        }

    def quantize(
        self,
        image: Any,
        colors: int,
        method: str,
        dither: str,
        seed: int,
        palette: Palette | None = None,
        mask: Any = None,
    ) -> tuple[Any, Any, Palette]:
        """Build (or take) the palette and map every frame onto it."""
        frames = image_tensor_to_rgba(image, mask)
        chosen = palette or build_palette(frames, colors, method, seed)
        out_image, out_mask = rgba_to_image_tensor(
            [map_to_palette(f, chosen, dither) for f in frames]
        )
        return out_image, out_mask, chosen


class DitherImage:
    """Map a batch onto a palette with a chosen dither pattern and colour space."""

    CATEGORY = "DGX-Pixels/palette"
    FUNCTION = "dither"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("image", "mask")
    DESCRIPTION = "Floyd–Steinberg or ordered Bayer dithering onto a palette."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        """Image, palette, dither mode and the space distances are measured in."""
        return {
            "required": {
                "image": _IMAGE,
                "palette": (PALETTE_TYPE, {"tooltip": "The colours allowed in the result."}),
                "mode": _dither_input(),
                "space": (
                    list(get_args(DitherSpace)),
                    {"default": "oklab", "tooltip": "oklab: perceptual; linear: physical light."},
                ),
            },
            "optional": {"mask": _MASK},
        }

    def dither(
        self, image: Any, palette: Palette, mode: str, space: str, mask: Any = None
    ) -> tuple[Any, Any]:
        """Dither every frame onto the palette."""
        return map_frames(
            image,
            lambda f: dither_to_palette(f, palette, mode, space),  # type: ignore[arg-type]
            mask,
        )
