"""Brownian-tree noise, as ComfyUI draws it for its SDE samplers (torchsde).

ComfyUI's `dpmpp_sde` and `dpmpp_2m_sde` take their per-step noise from one
`torchsde.BrownianTree` spanning the run's [smallest positive sigma, largest sigma],
seeded with the KSampler seed. The noise for a step sigma → sigma_next is the path's
increment over that interval divided by sqrt(|sigma_next - sigma|): unit variance, and
consistent across steps the way a Brownian path is. Same seed and sigmas, same noise, so
the same picture as ComfyUI (`BrownianTreeNoiseSampler`; its `*_gpu` samplers grow the tree
on the latent's device instead of the CPU).
"""

from __future__ import annotations

import warnings

import torch

from engine.sampling.noise import NoiseSampler

__all__ = ["brownian_noise_sampler"]


def brownian_noise_sampler(
    x: torch.Tensor, sigmas: torch.Tensor, seed: int, *, on_cpu: bool = True
) -> NoiseSampler:
    """A noise sampler over one Brownian path for the sigmas of this run.

    Args:
        x: The latent being sampled (shape, dtype and device of the noise).
        sigmas: The run's sigmas (after any start/end step cut), as the sampler gets them.
        seed: The KSampler seed (any value in 0..2**64-1).
        on_cpu: Grow the tree on the CPU (ComfyUI's default) or on `x`'s device.
    """
    import torchsde  # only the SDE samplers need it; keeps engine imports light

    tree_device = torch.device("cpu") if on_cpu else x.device
    t_min = sigmas[sigmas > 0].min().to(tree_device, torch.float32)
    t_max = sigmas.max().to(tree_device, torch.float32)
    w0 = torch.zeros(x.shape, dtype=x.dtype, device=tree_device)
    tree = torchsde.BrownianTree(t_min, w0, t_max, entropy=seed)

    def sample(sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
        lo, hi = (sigma, sigma_next) if sigma < sigma_next else (sigma_next, sigma)
        sign = 1.0 if sigma < sigma_next else -1.0
        with warnings.catch_warnings():
            # torchsde compares the float32 query with its float64 bounds and warns that
            # sigma_max is "outside" [t0, t1] by one rounding step; ComfyUI logs the same
            # harmless warning. The query is clamped, and the noise equals ComfyUI's.
            warnings.filterwarnings("ignore", "Should have t[ab]", UserWarning)
            step: torch.Tensor = tree(
                lo.to(tree_device, torch.float32), hi.to(tree_device, torch.float32)
            )
        noise = step.to(device=x.device, dtype=sigma.dtype) * sign
        return noise / (sigma_next - sigma).abs().sqrt().to(x.device)

    return sample
