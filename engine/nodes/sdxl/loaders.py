"""Loader nodes: CheckpointLoaderSimple, LoraLoader, LoraLoaderModelOnly (ComfyUI's inputs)."""

from __future__ import annotations

import logging
from typing import Any

from engine.context import engine_context
from engine.models.cache import ModelCache
from engine.models.sdxl import SDXLClip, SDXLModel, SDXLVae
from engine.nodes.sdxl.files import list_model_files, resolve_model_file

__all__ = ["CheckpointLoaderSimple", "LoraLoader", "LoraLoaderModelOnly"]

log = logging.getLogger(__name__)

_STRENGTH = {"default": 1.0, "min": -100.0, "max": 100.0, "step": 0.01}


def _cache() -> ModelCache:
    """The engine's model cache; created on first use when the engine did not bind one.

    `ctx.extras["precision"]` ("auto" | "fp16" | "bf16" | "fp32") picks the GPU dtype and
    `ctx.extras["compile"]` ("off" | a torch.compile mode) compiles each loaded checkpoint.
    """
    ctx = engine_context()
    if ctx.models is None:
        ctx.models = ModelCache(
            device=ctx.device,
            precision=ctx.extras.get("precision", "auto"),
            compile_mode=ctx.extras.get("compile", "off"),
        )
    cache: ModelCache = ctx.models
    return cache


class CheckpointLoaderSimple:
    """Load an SDXL single-file checkpoint from models/checkpoints."""

    DESCRIPTION = (
        "Loads a diffusion model checkpoint, diffusion models are used to denoise latents."
    )
    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    OUTPUT_TOOLTIPS = (
        "The model used for denoising latents.",
        "The CLIP model used for encoding text prompts.",
        "The VAE model used for encoding and decoding images to and from latent space.",
    )
    FUNCTION = "load_checkpoint"
    CATEGORY = "loaders"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        names = list_model_files(engine_context().paths.checkpoint_dirs)
        return {
            "required": {
                "ckpt_name": (names, {"tooltip": "The name of the checkpoint (model) to load."})
            }
        }

    def load_checkpoint(self, ckpt_name: str) -> tuple[SDXLModel, SDXLClip, SDXLVae]:
        path = resolve_model_file(ckpt_name, engine_context().paths.checkpoint_dirs, "checkpoint")
        loaded = _cache().load(path)
        return (loaded.model, loaded.clip, loaded.vae)


def _lora_inputs(with_clip: bool) -> dict[str, Any]:
    names = list_model_files(engine_context().paths.lora_dirs)
    required: dict[str, Any] = {
        "model": ("MODEL", {"tooltip": "The diffusion model the LoRA will be applied to."})
    }
    if with_clip:
        required["clip"] = ("CLIP", {"tooltip": "The CLIP model the LoRA will be applied to."})
    required["lora_name"] = (names, {"tooltip": "The name of the LoRA."})
    required["strength_model"] = (
        "FLOAT",
        {**_STRENGTH, "tooltip": "How strongly to modify the diffusion model."},
    )
    if with_clip:
        required["strength_clip"] = (
            "FLOAT",
            {**_STRENGTH, "tooltip": "How strongly to modify the CLIP model."},
        )
    return {"required": required}


class LoraLoader:
    """Apply a kohya LoRA to MODEL and CLIP with separate strengths."""

    DESCRIPTION = (
        "LoRAs are used to modify diffusion and CLIP models, altering the way in which latents "
        "are denoised."
    )
    RETURN_TYPES = ("MODEL", "CLIP")
    OUTPUT_TOOLTIPS = ("The modified diffusion model.", "The modified CLIP model.")
    FUNCTION = "load_lora"
    CATEGORY = "loaders"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return _lora_inputs(with_clip=True)

    def load_lora(
        self,
        model: SDXLModel,
        clip: SDXLClip,
        lora_name: str,
        strength_model: float,
        strength_clip: float,
    ) -> tuple[SDXLModel, SDXLClip]:
        if strength_model == 0 and strength_clip == 0:
            return (model, clip)
        lora = _cache().lora(
            resolve_model_file(lora_name, engine_context().paths.lora_dirs, "LoRA")
        )
        new_model, unet_misses = model.with_lora(lora, strength_model)
        _log_unmatched(
            lora_name,
            [k for k in unet_misses if not k.startswith("lora_te")] + clip.unmatched_keys(lora),
        )
        return (new_model, clip.with_lora(lora, strength_clip))


def _log_unmatched(lora_name: str, names: list[str]) -> None:
    for key in names:
        log.warning("lora key not loaded: %s", key)
    if names:
        log.warning("%s: %d LoRA key(s) matched no module and were ignored", lora_name, len(names))


class LoraLoaderModelOnly:
    """Apply a kohya LoRA to MODEL only."""

    DESCRIPTION = (
        "LoRAs are used to modify diffusion models, altering the way in which latents are denoised."
    )
    RETURN_TYPES = ("MODEL",)
    FUNCTION = "load_lora_model_only"
    CATEGORY = "loaders"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return _lora_inputs(with_clip=False)

    def load_lora_model_only(
        self, model: SDXLModel, lora_name: str, strength_model: float
    ) -> tuple[SDXLModel]:
        if strength_model == 0:
            return (model,)
        lora = _cache().lora(
            resolve_model_file(lora_name, engine_context().paths.lora_dirs, "LoRA")
        )
        new_model, unet_misses = model.with_lora(lora, strength_model)
        _log_unmatched(lora_name, [k for k in unet_misses if not k.startswith("lora_te")])
        return (new_model,)
