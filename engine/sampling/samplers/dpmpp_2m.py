"""DPM-Solver++(2M) (k-diffusion `sample_dpmpp_2m`)."""

from __future__ import annotations

import torch

from engine.sampling.noise import NoiseSampler
from engine.sampling.samplers.base import Denoiser, StepCallback

__all__ = ["sample_dpmpp_2m"]


@torch.no_grad()
def sample_dpmpp_2m(
    model: Denoiser,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    noise_sampler: NoiseSampler,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Second-order multistep solver in log-SNR time t = -log(sigma)."""
    old_denoised: torch.Tensor | None = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        t, t_next = -sigmas[i].log(), -sigmas[i + 1].log()
        h = t_next - t
        ratio = sigmas[i + 1] / sigmas[i]
        if old_denoised is None or sigmas[i + 1] == 0:
            x = ratio * x - (-h).expm1() * denoised
        else:
            r = (t - (-sigmas[i - 1].log())) / h
            denoised_d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
            x = ratio * x - (-h).expm1() * denoised_d
        old_denoised = denoised
        if callback is not None:
            callback(i)
    return x
