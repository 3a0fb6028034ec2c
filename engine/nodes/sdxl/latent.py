"""Latent nodes: EmptyLatentImage, VAEDecode, VAEEncode (ComfyUI's inputs and layouts).

LATENT is `{"samples": tensor [B, 4, H/8, W/8]}` in VAE space; IMAGE is `[B, H, W, C]` 0..1.
"""

from __future__ import annotations

from typing import Any

import torch

from engine.context import engine_limits
from engine.models.sdxl import SDXLVae

__all__ = ["EmptyLatentImage", "VAEDecode", "VAEEncode"]

MAX_RESOLUTION = 16384


class EmptyLatentImage:
    """A batch of zero latents for text-to-image."""

    DESCRIPTION = "Create a new batch of empty latent images to be denoised via sampling."
    RETURN_TYPES = ("LATENT",)
    OUTPUT_TOOLTIPS = ("The empty latent image batch.",)
    FUNCTION = "generate"
    CATEGORY = "latent"
    # The pixel cap (engine.limits) is checked on these at /prompt, before anything is allocated.
    PIXEL_INPUTS = ("width", "height", "batch_size")

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        size = {"default": 512, "min": 16, "max": MAX_RESOLUTION, "step": 8}
        return {
            "required": {
                "width": ("INT", {**size, "tooltip": "The width of the latent images in pixels."}),
                "height": (
                    "INT",
                    {**size, "tooltip": "The height of the latent images in pixels."},
                ),
                "batch_size": (
                    "INT",
                    {
                        "default": 1,
                        "min": 1,
                        "max": 4096,
                        "tooltip": "The number of latent images in the batch.",
                    },
                ),
            }
        }

    def generate(
        self, width: int, height: int, batch_size: int = 1
    ) -> tuple[dict[str, torch.Tensor]]:
        engine_limits().check_pixels(width, height, batch_size, "EmptyLatentImage")
        return ({"samples": torch.zeros([batch_size, 4, height // 8, width // 8])},)


class VAEDecode:
    """Latents → images."""

    DESCRIPTION = "Decodes latent images back into pixel space images."
    RETURN_TYPES = ("IMAGE",)
    OUTPUT_TOOLTIPS = ("The decoded image.",)
    FUNCTION = "decode"
    CATEGORY = "latent"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "samples": ("LATENT", {"tooltip": "The latent to be decoded."}),
                "vae": ("VAE", {"tooltip": "The VAE model used for decoding the latent."}),
            }
        }

    def decode(self, vae: SDXLVae, samples: dict[str, torch.Tensor]) -> tuple[torch.Tensor]:
        return (vae.decode(samples["samples"]),)


class VAEEncode:
    """Images → latents (for img2img)."""

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "encode"
    CATEGORY = "latent"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"pixels": ("IMAGE",), "vae": ("VAE",)}}

    def encode(self, vae: SDXLVae, pixels: torch.Tensor) -> tuple[dict[str, torch.Tensor]]:
        return ({"samples": vae.encode(pixels)},)
