"""Cheap sampler previews: ComfyUI's `latent2rgb` for SDXL latents, as PNG bytes.

Each step's denoised latent is projected to RGB with SDXL's fixed 4×3 factors (no VAE),
giving a 1/8-size picture of where sampling is heading. Used when the engine runs with
`preview_method="latent2rgb"` (ComfyUI: `--preview-method latent2rgb`); off by default.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

__all__ = ["latent_to_preview_png"]

# comfy/latent_formats.py SDXL.latent_rgb_factors / latent_rgb_factors_bias
_FACTORS = torch.tensor(
    [
        [0.3651, 0.4232, 0.4341],
        [-0.2533, -0.0042, 0.1068],
        [0.1076, 0.1111, -0.0362],
        [-0.3165, -0.2492, -0.2188],
    ]
)
_BIAS = torch.tensor([0.1084, -0.0175, -0.0011])


def latent_to_preview_png(denoised: torch.Tensor) -> bytes:
    """PNG of the first image of a model-space (scaled, as the sampler sees it) latent batch."""
    latent = denoised[0].detach().float().cpu()
    rgb = torch.einsum("chw,cr->hwr", latent, _FACTORS) + _BIAS
    pixels = (((rgb + 1.0) / 2.0).clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).numpy()
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()
