"""SDXL's discrete 1000-step noise table, as ComfyUI's `ModelSamplingDiscrete` builds it.

Betas are "scaled_linear" (`linspace(sqrt(0.00085), sqrt(0.012), 1000) ** 2`) in float64;
sigmas = sqrt((1 - ᾱ) / ᾱ) stored as float32 (their log too, taken in float64).
`timestep(sigma)` is the nearest table index in log space and `sigma(t)` interpolates
log-sigma between table entries, exactly as ComfyUI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["DiscreteSchedule"]


@dataclass(frozen=True)
class DiscreteSchedule:
    """The noise table of an EPS model trained on `num_timesteps` discrete steps."""

    linear_start: float = 0.00085
    linear_end: float = 0.012
    num_timesteps: int = 1000
    sigmas: torch.Tensor = field(init=False, repr=False)
    log_sigmas: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        betas = (
            torch.linspace(
                self.linear_start**0.5,
                self.linear_end**0.5,
                self.num_timesteps,
                dtype=torch.float64,
            )
            ** 2
        )
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
        object.__setattr__(self, "sigmas", sigmas.float())
        # The log is taken in float64 before rounding, as ComfyUI's `set_sigmas` does: the
        # float32 log of the rounded table differs by an ulp, enough to move `normal` sigmas.
        object.__setattr__(self, "log_sigmas", sigmas.log().float())

    @property
    def sigma_min(self) -> float:
        return float(self.sigmas[0])

    @property
    def sigma_max(self) -> float:
        return float(self.sigmas[-1])

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        """Nearest discrete timestep (float tensor, same shape as `sigma`)."""
        dists = sigma.log().to(self.log_sigmas.device) - self.log_sigmas[:, None]
        return dists.abs().argmin(dim=0).view(sigma.shape).to(sigma.device).float()

    def sigma(self, timestep: torch.Tensor) -> torch.Tensor:
        """Sigma at a (possibly fractional) timestep, log-linear between table entries."""
        t = torch.clamp(
            timestep.float().to(self.log_sigmas.device), min=0, max=len(self.sigmas) - 1
        )
        low, high, w = t.floor().long(), t.ceil().long(), t.frac()
        log_sigma = (1 - w) * self.log_sigmas[low] + w * self.log_sigmas[high]
        return log_sigma.exp().to(timestep.device)
