"""DPM-Solver++ SDE, second order single-step (k-diffusion `sample_dpmpp_sde`, eta 1, r 1/2).

Two model calls a step: one at the midpoint in half-log-SNR time, one at the step's start,
with ancestral noise added after each half. ComfyUI feeds it Brownian-tree noise (the
registry does the same); the arithmetic follows ComfyUI's order so results agree to float
rounding.
"""

from __future__ import annotations

import torch

from engine.sampling.noise import NoiseSampler
from engine.sampling.samplers.base import Denoiser, StepCallback, ancestral_step

__all__ = ["sample_dpmpp_sde"]

_ETA = 1.0
_R = 0.5  # where the midpoint sits between the step's two lambdas


def _lambda(sigma: torch.Tensor) -> torch.Tensor:
    """Half-log-SNR of an EPS model: log(alpha / sigma) = -log(sigma)."""
    return sigma.log().neg()


def _substep(
    x: torch.Tensor,
    denoised: torch.Tensor,
    start: tuple[torch.Tensor, torch.Tensor],
    end: tuple[torch.Tensor, torch.Tensor],
    noise_sampler: NoiseSampler,
) -> torch.Tensor:
    """Exponential-integrator step between two (sigma, lambda) points plus ancestral noise.

    Both the sigma and its lambda are passed, as ComfyUI uses each where it does: recomputing
    one from the other would round differently.
    """
    (sigma, lambda_s), (sigma_to, lambda_to) = start, end
    alpha_s, alpha_to = sigma * lambda_s.exp(), sigma_to * lambda_to.exp()
    sigma_down, sigma_up = ancestral_step(lambda_s.neg().exp(), lambda_to.neg().exp(), _ETA)
    h = sigma_down.log().neg() - lambda_s
    out = (alpha_to / alpha_s) * (-h).exp() * x - alpha_to * (-h).expm1() * denoised
    return out + alpha_to * noise_sampler(sigma, sigma_to) * sigma_up


@torch.no_grad()
def sample_dpmpp_sde(
    model: Denoiser,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    noise_sampler: NoiseSampler,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Midpoint DPM-Solver++ with noise, two model evaluations per step."""
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised  # the last step lands on the denoised estimate
        else:
            start = (sigmas[i], _lambda(sigmas[i]))
            end = (sigmas[i + 1], _lambda(sigmas[i + 1]))
            lambda_mid = start[1] + _R * (end[1] - start[1])
            mid = (lambda_mid.neg().exp(), lambda_mid)
            denoised_mid = model(_substep(x, denoised, start, mid, noise_sampler), mid[0])
            fac = 1 / (2 * _R)
            denoised_d = (1 - fac) * denoised + fac * denoised_mid
            x = _substep(x, denoised_d, start, end, noise_sampler)
        if callback is not None:
            callback(i)
    return x
