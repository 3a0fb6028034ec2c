"""An SDXL checkpoint loaded for training: the modules as the engine builds them, plus the
two encoders a trainer needs (captions → conditioning, pixels → latents) exactly as
inference computes them, so a LoRA is trained on the same inputs it later sees.

The engine's own loader (`engine.models.checkpoint.load_checkpoint`) does the work; nothing
here re-reads or converts weights. The UNet comes back frozen and in eval mode: the trainer
injects its adapters, switches modes and enables gradient checkpointing itself.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from engine.models.architecture import UNET_PREFIX
from engine.models.checkpoint import LoadedCheckpoint, load_checkpoint, read_header
from engine.models.sdxl import SDXL_LATENT_SCALE, SDXLClip, SDXLVae, Tokenizers
from engine.sampling.discrete import DiscreteSchedule

__all__ = ["TrainableSDXL", "load_trainable_sdxl"]


@dataclass(frozen=True)
class TrainableSDXL:
    """One SDXL checkpoint's modules for training a UNet LoRA.

    Attributes:
        path: The checkpoint file.
        unet: `diffusers.UNet2DConditionModel`, frozen (requires_grad False), eval mode.
        text_encoder_l: CLIP-L (`transformers.CLIPTextModel`), frozen.
        text_encoder_g: CLIP-G (`transformers.CLIPTextModelWithProjection`), frozen.
        vae: `diffusers.AutoencoderKL`, frozen.
        tokenizers: Both CLIP tokenizers as the engine builds them.
        unet_names: SGM module path (`input_blocks.4.1.proj_in`) → diffusers module path
            (`down_blocks.1.attentions.0.proj_in`), for every UNet module with a weight.
        unet_shapes: SGM UNet weight name (no `model.diffusion_model.` prefix) → shape, the
            input `training.lora_io.kohya_unet_targets` takes.
        alphas_cumprod: ᾱ_t of SDXL's 1000-step discrete schedule (float32, CPU).
        latent_scale: VAE latents × this = the UNet's latent space (0.13025).
        metadata: The checkpoint's safetensors metadata.
        is_demo: Random-weight demo file (its pictures are meaningless).
    """

    path: Path
    unet: Any
    text_encoder_l: Any
    text_encoder_g: Any
    vae: Any
    tokenizers: Tokenizers
    unet_names: Mapping[str, str]
    unet_shapes: Mapping[str, tuple[int, ...]]
    alphas_cumprod: torch.Tensor
    latent_scale: float = SDXL_LATENT_SCALE
    metadata: Mapping[str, str] = field(default_factory=dict)
    is_demo: bool = False
    _checkpoint: LoadedCheckpoint | None = field(default=None, repr=False, compare=False)

    def encode_prompt(self, text: str) -> tuple[torch.Tensor, torch.Tensor]:
        """A caption as `CLIPTextEncodeSDXL` encodes it (same text for CLIP-L and CLIP-G).

        Returns:
            ([1, 77·chunks, 2048] context, [1, 1280] pooled), float32 on the CPU.
        """
        assert self._checkpoint is not None
        return SDXLClip(self._checkpoint, self.tokenizers).encode(text, text)

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """[B, H, W, 3] image in 0..1 → [B, 4, H/8, W/8] UNet-space latent (scaled), CPU."""
        assert self._checkpoint is not None
        return SDXLVae(self._checkpoint).encode(pixels) * self.latent_scale

    def decode_latents(self, latent: torch.Tensor) -> torch.Tensor:
        """[B, 4, h, w] UNet-space latent (scaled) → [B, 8h, 8w, 3] image in 0..1, float32 on
        the CPU, decoded as `VAEDecode` decodes (on the VAE's device: a trainer moves it)."""
        assert self._checkpoint is not None
        return SDXLVae(self._checkpoint).decode(latent / self.latent_scale)

    def free_encoders(self) -> None:
        """Drop the VAE and text encoders from the accelerator once everything is cached."""
        for module in (self.vae, self.text_encoder_l, self.text_encoder_g):
            module.to("cpu")
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


@functools.cache
def _tokenizers() -> Tokenizers:
    """Both SDXL tokenizers, built once per process from the shipped BPE file (~1 s)."""
    from engine.configs.tokenizer import build_sdxl_tokenizers

    return Tokenizers(*build_sdxl_tokenizers())


def _alphas_cumprod() -> torch.Tensor:
    sigmas = DiscreteSchedule().sigmas.double()
    return (1.0 / (1.0 + sigmas**2)).float()  # σ² = (1 - ᾱ) / ᾱ


def load_trainable_sdxl(
    path: Path,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    vae_dtype: torch.dtype | None = None,
) -> TrainableSDXL:
    """Load an SDXL single-file checkpoint for LoRA training.

    Args:
        path: The `.safetensors` checkpoint (SGM/LDM layout, as `load_checkpoint` reads).
        device: Torch device for every module.
        dtype: Weight dtype of the UNet and text encoders (the frozen base weights).
        vae_dtype: Weight dtype of the VAE (default: `dtype`).

    Raises:
        ModelLoadError: A missing, corrupt, truncated or non-SDXL file (named).
    """
    shapes, _ = read_header(path)
    loaded = load_checkpoint(path, device, dtype, vae_dtype)
    unet_shapes = {
        key[len(UNET_PREFIX) :]: shape
        for key, shape in shapes.items()
        if key.startswith(UNET_PREFIX)
    }
    return TrainableSDXL(
        path=path,
        unet=loaded.unet,
        text_encoder_l=loaded.text_encoder_l,
        text_encoder_g=loaded.text_encoder_g,
        vae=loaded.vae,
        tokenizers=_tokenizers(),
        unet_names=dict(loaded.unet_names),
        unet_shapes=unet_shapes,
        alphas_cumprod=_alphas_cumprod(),
        metadata=dict(loaded.metadata),
        is_demo=loaded.is_demo,
        _checkpoint=loaded,
    )
