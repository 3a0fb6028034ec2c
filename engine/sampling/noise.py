"""Noise exactly as ComfyUI makes it: initial latent noise on the CPU from the seed, and
the per-step noise of ancestral/SDE samplers from a generator seeded the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["NoiseSampler", "default_noise_sampler", "prepare_noise"]

NoiseSampler = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def prepare_noise(
    latent: torch.Tensor, seed: int, batch_index: Sequence[int] | None = None
) -> torch.Tensor:
    """`comfy.sample.prepare_noise`: float32 CPU noise of the latent's shape.

    A fresh generator seeded with `seed` draws the same stream as `torch.manual_seed(seed)`
    without touching torch's global RNG. With `batch_index` (latents from a batch split),
    one `[1, C, H, W]` draw is made per index up to the largest, as ComfyUI does.
    """
    gen = torch.Generator(device="cpu").manual_seed(seed)
    if batch_index is None:
        return torch.randn(latent.shape, dtype=torch.float32, generator=gen, device="cpu")
    unique = sorted(set(batch_index))
    draws: dict[int, torch.Tensor] = {}
    for i in range(unique[-1] + 1):
        noise = torch.randn(
            [1, *latent.shape[1:]], dtype=torch.float32, generator=gen, device="cpu"
        )
        if i in unique:
            draws[i] = noise
    return torch.cat([draws[i] for i in batch_index], dim=0)


def default_noise_sampler(x: torch.Tensor, seed: int | None) -> NoiseSampler:
    """k-diffusion's default sampler: a generator on `x`'s device seeded with `seed`."""
    gen = torch.Generator(device=x.device)
    if seed is not None:
        gen.manual_seed(seed)

    def sample(sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
        return torch.randn(x.size(), dtype=x.dtype, layout=x.layout, device=x.device, generator=gen)

    return sample
