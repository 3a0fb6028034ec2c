"""Euler (k-diffusion `sample_euler`, no churn)."""

from __future__ import annotations

import torch

from engine.sampling.noise import NoiseSampler
from engine.sampling.samplers.base import Denoiser, StepCallback, to_d

__all__ = ["sample_euler"]


@torch.no_grad()
def sample_euler(
    model: Denoiser,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    noise_sampler: NoiseSampler,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """First-order ODE steps along `sigmas`."""
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        x = x + to_d(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i])
        if callback is not None:
            callback(i)
    return x
