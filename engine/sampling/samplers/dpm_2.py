"""DPM-Solver-2 flavoured Heun (k-diffusion `sample_dpm_2`, no churn).

The second evaluation sits at the geometric midpoint of the step's sigmas. ComfyUI asks the
scheduler for one step more and drops the penultimate sigma for this sampler (the
registry's `discard_penultimate_sigma`), so its last step is a long Euler one.
"""

from __future__ import annotations

import torch

from engine.sampling.noise import NoiseSampler
from engine.sampling.samplers.base import Denoiser, StepCallback, to_d

__all__ = ["sample_dpm_2"]


@torch.no_grad()
def sample_dpm_2(
    model: Denoiser,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    noise_sampler: NoiseSampler,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Second-order ODE steps through the log-space midpoint sigma."""
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        d = to_d(x, sigmas[i], denoised)
        if sigmas[i + 1] == 0:
            x = x + d * (sigmas[i + 1] - sigmas[i])  # the last step is plain Euler
        else:
            sigma_mid = sigmas[i].log().lerp(sigmas[i + 1].log(), 0.5).exp()
            x_2 = x + d * (sigma_mid - sigmas[i])
            d_2 = to_d(x_2, sigma_mid, model(x_2, sigma_mid))
            x = x + d_2 * (sigmas[i + 1] - sigmas[i])
        if callback is not None:
            callback(i)
    return x
