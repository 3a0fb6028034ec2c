"""Sampler nodes: KSampler and KSamplerAdvanced (ComfyUI's inputs, `common_ksampler` logic).

Only the samplers and schedulers the engine implements are listed, so a graph asking for
another one fails validation with `value_not_in_list` naming the valid ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

from engine.context import engine_context, node_runtime
from engine.models.sdxl import SDXLModel
from engine.sampling.guidance import Conditioning
from engine.sampling.ksampler import SampleRequest, sample
from engine.sampling.noise import prepare_noise
from engine.sampling.preview import latent_to_preview_png
from engine.sampling.samplers import SAMPLERS
from engine.sampling.schedulers import SCHEDULERS

__all__ = ["KSampler", "KSamplerAdvanced", "common_ksampler"]

log = logging.getLogger(__name__)

_SEED = {
    "default": 0,
    "min": 0,
    "max": 0xFFFFFFFFFFFFFFFF,
    "control_after_generate": True,
    "tooltip": "The random seed used for creating the noise.",
}
_STEPS = {
    "default": 20,
    "min": 1,
    "max": 10000,
    "tooltip": "The number of steps used in the denoising process.",
}
_CFG = {
    "default": 8.0,
    "min": 0.0,
    "max": 100.0,
    "step": 0.1,
    "round": 0.01,
    "tooltip": "The Classifier-Free Guidance scale.",
}


def _step_hooks() -> tuple[
    Callable[[int, int, torch.Tensor | None], None] | None, Callable[[], None] | None
]:
    """Progress (with a latent2rgb preview when the engine asks for one) and interrupt."""
    runtime = node_runtime()
    if runtime is None:
        return None, None
    previews = engine_context().extras.get("preview_method", "none") == "latent2rgb"

    def on_step(done: int, total: int, denoised: torch.Tensor | None) -> None:
        png = latent_to_preview_png(denoised) if previews and denoised is not None else None
        runtime.progress(done, total, png)

    return on_step, runtime.check_interrupt


def common_ksampler(
    model: SDXLModel,
    latent: dict[str, torch.Tensor],
    positive: Conditioning,
    negative: Conditioning,
    request: SampleRequest,
    disable_noise: bool = False,
) -> tuple[dict[str, torch.Tensor]]:
    """ComfyUI's `common_ksampler`: noise from the seed, sample, return a new LATENT dict."""
    if model.is_demo:
        log.warning(
            "sampling with the DEMO checkpoint (random weights): the pictures are meaningless"
        )
    samples = latent["samples"]
    if disable_noise:
        noise = torch.zeros(samples.shape, dtype=torch.float32, device="cpu")
    else:
        noise = prepare_noise(samples, request.seed, latent.get("batch_index"))  # type: ignore[arg-type]
    on_step, before_step = _step_hooks()
    with model.patched():
        out = sample(model, noise, positive, negative, samples, request, on_step, before_step)
    result = dict(latent)
    result["samples"] = out
    return (result,)


def _common_inputs() -> dict[str, Any]:
    return {
        "steps": ("INT", _STEPS),
        "cfg": ("FLOAT", _CFG),
        "sampler_name": (list(SAMPLERS), {"tooltip": "The algorithm used when sampling."}),
        "scheduler": (
            list(SCHEDULERS),
            {"tooltip": "The scheduler controls how noise is gradually removed."},
        ),
        "positive": (
            "CONDITIONING",
            {"tooltip": "The conditioning describing the attributes to include."},
        ),
        "negative": (
            "CONDITIONING",
            {"tooltip": "The conditioning describing the attributes to exclude."},
        ),
        "latent_image": ("LATENT", {"tooltip": "The latent image to denoise."}),
    }


class KSampler:
    """Denoise a latent with one of the engine's samplers."""

    DESCRIPTION = (
        "Uses the provided model, positive and negative conditioning to denoise the latent image."
    )
    RETURN_TYPES = ("LATENT",)
    OUTPUT_TOOLTIPS = ("The denoised latent.",)
    FUNCTION = "sample"
    CATEGORY = "sampling"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        required: dict[str, Any] = {
            "model": ("MODEL", {"tooltip": "The model used for denoising the input latent."}),
            "seed": ("INT", _SEED),
        }
        required.update(_common_inputs())
        required["denoise"] = (
            "FLOAT",
            {
                "default": 1.0,
                "min": 0.0,
                "max": 1.0,
                "step": 0.01,
                "tooltip": "The amount of denoising applied.",
            },
        )
        return {"required": required}

    def sample(
        self,
        model: SDXLModel,
        seed: int,
        steps: int,
        cfg: float,
        sampler_name: str,
        scheduler: str,
        positive: Conditioning,
        negative: Conditioning,
        latent_image: dict[str, torch.Tensor],
        denoise: float = 1.0,
    ) -> tuple[dict[str, torch.Tensor]]:
        request = SampleRequest(steps, cfg, sampler_name, scheduler, seed, denoise=denoise)
        return common_ksampler(model, latent_image, positive, negative, request)


class KSamplerAdvanced:
    """KSampler with noise on/off, a start/end step window and leftover noise."""

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "sample"
    CATEGORY = "sampling"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        required: dict[str, Any] = {
            "model": ("MODEL",),
            "add_noise": (["enable", "disable"],),
            "noise_seed": ("INT", _SEED),
        }
        required.update(_common_inputs())
        required["start_at_step"] = ("INT", {"default": 0, "min": 0, "max": 10000})
        required["end_at_step"] = ("INT", {"default": 10000, "min": 0, "max": 10000})
        required["return_with_leftover_noise"] = (["disable", "enable"],)
        return {"required": required}

    def sample(
        self,
        model: SDXLModel,
        add_noise: str,
        noise_seed: int,
        steps: int,
        cfg: float,
        sampler_name: str,
        scheduler: str,
        positive: Conditioning,
        negative: Conditioning,
        latent_image: dict[str, torch.Tensor],
        start_at_step: int,
        end_at_step: int,
        return_with_leftover_noise: str,
        denoise: float = 1.0,
    ) -> tuple[dict[str, torch.Tensor]]:
        request = SampleRequest(
            steps,
            cfg,
            sampler_name,
            scheduler,
            noise_seed,
            denoise=denoise,
            start_step=start_at_step,
            last_step=end_at_step,
            force_full_denoise=return_with_leftover_noise != "enable",
        )
        return common_ksampler(
            model, latent_image, positive, negative, request, disable_noise=add_noise == "disable"
        )
