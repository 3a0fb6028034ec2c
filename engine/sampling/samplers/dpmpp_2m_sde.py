"""DPM-Solver++(2M) SDE, midpoint variant (k-diffusion `sample_dpmpp_2m_sde`, eta 1).

Its fresh noise each step comes from the noise sampler it is given; the registry gives it
ComfyUI's Brownian tree (`engine.sampling.brownian`), so a seed yields ComfyUI's picture.
The arithmetic follows ComfyUI's order, `alpha_t = sigma * e^lambda` (1 up to rounding for
an EPS model) included, so results agree to float rounding.
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
    """Second-order multistep SDE solver in half-log-SNR time lambda = -log(sigma)."""
    old_denoised: torch.Tensor | None = None
    h_last: torch.Tensor | None = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised  # the last step lands on the denoised estimate
        else:
            lambda_s, lambda_t = sigmas[i].log().neg(), sigmas[i + 1].log().neg()
            h = lambda_t - lambda_s
            h_eta = h * (_ETA + 1)
            alpha_t = sigmas[i + 1] * lambda_t.exp()
            x = (
                sigmas[i + 1] / sigmas[i] * (-h * _ETA).exp() * x
                + alpha_t * (-h_eta).expm1().neg() * denoised
            )
            if old_denoised is not None and h_last is not None:
                r = h_last / h
                x = x + 0.5 * alpha_t * (-h_eta).expm1().neg() * (1 / r) * (denoised - old_denoised)
            noise = noise_sampler(sigmas[i], sigmas[i + 1])
            x = x + noise * sigmas[i + 1] * (-2 * h * _ETA).expm1().neg().sqrt()
            h_last = h
        old_denoised = denoised
        if callback is not None:
            callback(i)
    return x
