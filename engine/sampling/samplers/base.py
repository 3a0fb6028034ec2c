"""Shared types of the samplers and k-diffusion's small helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch

from engine.sampling.noise import NoiseSampler

__all__ = ["Denoiser", "SamplerFn", "StepCallback", "ancestral_step", "to_d"]


class Denoiser(Protocol):
    """x at noise level sigma → the model's estimate of the clean x."""

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor: ...


StepCallback = Callable[[int], None]  # called with the index of the step just finished


class SamplerFn(Protocol):
    def __call__(
        self,
        model: Denoiser,
        x: torch.Tensor,
        sigmas: torch.Tensor,
        noise_sampler: NoiseSampler,
        callback: StepCallback | None = None,
    ) -> torch.Tensor: ...


def to_d(x: torch.Tensor, sigma: torch.Tensor, denoised: torch.Tensor) -> torch.Tensor:
    """Karras ODE derivative dx/dsigma."""
    return (x - denoised) / sigma


def ancestral_step(
    sigma_from: torch.Tensor, sigma_to: torch.Tensor, eta: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a step into a deterministic part down to `sigma_down` and fresh noise `sigma_up`."""
    if not eta:
        return sigma_to, torch.zeros_like(sigma_to)
    sigma_up = torch.minimum(
        sigma_to, eta * (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5
    )
    sigma_down = (sigma_to**2 - sigma_up**2) ** 0.5
    return sigma_down, sigma_up
