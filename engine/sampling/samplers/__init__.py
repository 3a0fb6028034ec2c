"""Samplers with ComfyUI's names (k-diffusion math), one file each, picked by name.

Every sampler has the signature of `SamplerFn`: it integrates `model` (a denoiser:
x, sigma → denoised) along `sigmas` from `x`, calling `callback(i)` after step i. The
registry pairs each with the per-step noise ComfyUI gives it: seeded Gaussian draws for
most, a Brownian tree for the SDE solvers (on the CPU, or on the latent's device for the
`*_gpu` names, as in ComfyUI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

import torch

from engine.sampling.brownian import brownian_noise_sampler
from engine.sampling.noise import NoiseSampler, default_noise_sampler
from engine.sampling.samplers.base import Denoiser, SamplerFn, StepCallback
from engine.sampling.samplers.dpm_2 import sample_dpm_2
from engine.sampling.samplers.dpmpp_2m import sample_dpmpp_2m
from engine.sampling.samplers.dpmpp_2m_sde import sample_dpmpp_2m_sde
from engine.sampling.samplers.dpmpp_sde import sample_dpmpp_sde
from engine.sampling.samplers.euler import sample_euler
from engine.sampling.samplers.euler_ancestral import sample_euler_ancestral
from engine.sampling.samplers.heun import sample_heun
from engine.sampling.samplers.lcm import sample_lcm
from engine.sampling.samplers.uni_pc import sample_uni_pc, sample_uni_pc_bh2

__all__ = [
    "SAMPLERS",
    "Denoiser",
    "NoiseFactory",
    "Sampler",
    "SamplerFn",
    "SamplerName",
    "StepCallback",
    "get_sampler",
]

SamplerName = Literal[
    "euler",
    "euler_ancestral",
    "heun",
    "dpm_2",
    "dpmpp_sde",
    "dpmpp_sde_gpu",
    "dpmpp_2m",
    "dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu",
    "lcm",
    "ddim",
    "uni_pc",
    "uni_pc_bh2",
]

# (latent, the run's sigmas, seed) → the sampler's per-step noise.
NoiseFactory = Callable[[torch.Tensor, torch.Tensor, int], NoiseSampler]


def gaussian_noise(x: torch.Tensor, sigmas: torch.Tensor, seed: int) -> NoiseSampler:
    """k-diffusion's default: fresh draws from a generator on `x`'s device seeded with `seed`."""
    return default_noise_sampler(x, seed)


@dataclass(frozen=True)
class Sampler:
    """A sampler function, the noise ComfyUI feeds it and how ComfyUI schedules it.

    `discard_penultimate_sigma`: ComfyUI's KSampler asks the scheduler for one step more
    and drops the second-to-last sigma for these samplers (its
    `DISCARD_PENULTIMATE_SIGMA_SAMPLERS`).
    """

    fn: SamplerFn
    noise: NoiseFactory = gaussian_noise
    discard_penultimate_sigma: bool = False


# Keyed by `SamplerName`, so mypy refuses a registry entry the name list lacks. Listed in
# ComfyUI's order (`comfy.samplers.KSAMPLER_NAMES`), as the KSampler combo shows them.
SAMPLERS: dict[SamplerName, Sampler] = {
    "euler": Sampler(sample_euler),
    "euler_ancestral": Sampler(sample_euler_ancestral),
    "heun": Sampler(sample_heun),
    "dpm_2": Sampler(sample_dpm_2, discard_penultimate_sigma=True),
    "dpmpp_sde": Sampler(sample_dpmpp_sde, brownian_noise_sampler),
    "dpmpp_sde_gpu": Sampler(sample_dpmpp_sde, partial(brownian_noise_sampler, on_cpu=False)),
    "dpmpp_2m": Sampler(sample_dpmpp_2m),
    "dpmpp_2m_sde": Sampler(sample_dpmpp_2m_sde, brownian_noise_sampler),
    "dpmpp_2m_sde_gpu": Sampler(sample_dpmpp_2m_sde, partial(brownian_noise_sampler, on_cpu=False)),
    "lcm": Sampler(sample_lcm),
    # ComfyUI's "ddim" is Euler whose inpainting noise is re-drawn; the engine has no
    # noise masks, so it is exactly Euler here.
    "ddim": Sampler(sample_euler),
    "uni_pc": Sampler(sample_uni_pc, discard_penultimate_sigma=True),
    "uni_pc_bh2": Sampler(sample_uni_pc_bh2, discard_penultimate_sigma=True),
}


def get_sampler(name: str) -> Sampler:
    """The sampler called `name`.

    Raises:
        ValueError: Unknown sampler name (the message lists the valid ones).
    """
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler_name={name!r}; valid samplers: {', '.join(SAMPLERS)}")
    return SAMPLERS[name]
