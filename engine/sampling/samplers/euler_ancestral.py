"""Euler ancestral (k-diffusion `sample_euler_ancestral`, eta 1, s_noise 1)."""

from __future__ import annotations

import torch

from engine.sampling.noise import NoiseSampler
from engine.sampling.samplers.base import Denoiser, StepCallback, ancestral_step, to_d

__all__ = ["sample_euler_ancestral"]


@torch.no_grad()
def sample_euler_ancestral(
    model: Denoiser,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    noise_sampler: NoiseSampler,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Euler down to sigma_down, then add fresh noise of size sigma_up."""
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1])
        if sigma_down == 0:
            x = denoised
        else:
            x = x + to_d(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * sigma_up
        if callback is not None:
            callback(i)
    return x
