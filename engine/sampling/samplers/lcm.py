"""LCM (k-diffusion `sample_lcm`): jump to the denoised estimate, re-noise to the next sigma."""

from __future__ import annotations

import torch

from engine.sampling.noise import NoiseSampler
from engine.sampling.samplers.base import Denoiser, StepCallback

__all__ = ["sample_lcm"]


@torch.no_grad()
def sample_lcm(
    model: Denoiser,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    noise_sampler: NoiseSampler,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Consistency-model sampling; EPS noise scaling is `x + sigma * noise`."""
    for i in range(len(sigmas) - 1):
        x = model(x, sigmas[i])
        if sigmas[i + 1] > 0:
            x = x + sigmas[i + 1] * noise_sampler(sigmas[i], sigmas[i + 1])
        if callback is not None:
            callback(i)
    return x
