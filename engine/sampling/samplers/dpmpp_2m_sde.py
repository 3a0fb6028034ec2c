"""DPM-Solver++(2M) SDE, midpoint variant (k-diffusion `sample_dpmpp_2m_sde`, eta 1).

ComfyUI draws this sampler's noise from a Brownian tree (torchsde); torchsde is not a
dependency here, so the noise comes from the seeded Gaussian sampler instead. The math is
the same; pictures are close to, not bit-identical with, ComfyUI's for this sampler.
"""

from __future__ import annotations

import torch

from engine.sampling.noise import NoiseSampler
from engine.sampling.samplers.base import Denoiser, StepCallback

__all__ = ["sample_dpmpp_2m_sde"]

_ETA = 1.0


@torch.no_grad()
def sample_dpmpp_2m_sde(
    model: Denoiser,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    noise_sampler: NoiseSampler,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Second-order multistep SDE solver with fresh noise each step."""
    old_denoised: torch.Tensor | None = None
    h_last: torch.Tensor | None = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            h = sigmas[i].log() - sigmas[i + 1].log()
            h_eta = h * (_ETA + 1)
            x = (
                sigmas[i + 1] / sigmas[i] * (-h * _ETA).exp() * x
                + (-h_eta).expm1().neg() * denoised
            )
            if old_denoised is not None and h_last is not None:
                r = h_last / h
                x = x + 0.5 * (-h_eta).expm1().neg() * (1 / r) * (denoised - old_denoised)
            noise = noise_sampler(sigmas[i], sigmas[i + 1])
            x = x + noise * sigmas[i + 1] * (-2 * h * _ETA).expm1().neg().sqrt()
            h_last = h
        old_denoised = denoised
        if callback is not None:
            callback(i)
    return x
