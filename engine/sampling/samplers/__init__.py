"""Samplers with ComfyUI's names (k-diffusion math), one file each, picked by name.

Every sampler has the signature of `SamplerFn`: it integrates `model` (a denoiser:
x, sigma → denoised) along `sigmas` from `x`, calling `callback(i)` after step i.
"""

from __future__ import annotations

from typing import Literal

from engine.sampling.samplers.base import Denoiser, SamplerFn, StepCallback
from engine.sampling.samplers.dpmpp_2m import sample_dpmpp_2m
from engine.sampling.samplers.dpmpp_2m_sde import sample_dpmpp_2m_sde
from engine.sampling.samplers.euler import sample_euler
from engine.sampling.samplers.euler_ancestral import sample_euler_ancestral
from engine.sampling.samplers.lcm import sample_lcm

__all__ = ["SAMPLERS", "Denoiser", "SamplerFn", "SamplerName", "StepCallback", "get_sampler"]

SamplerName = Literal["euler", "euler_ancestral", "dpmpp_2m", "dpmpp_2m_sde", "lcm"]

# Keyed by `SamplerName`, so mypy refuses a registry entry the name list lacks.
SAMPLERS: dict[SamplerName, SamplerFn] = {
    "euler": sample_euler,
    "euler_ancestral": sample_euler_ancestral,
    "dpmpp_2m": sample_dpmpp_2m,
    "dpmpp_2m_sde": sample_dpmpp_2m_sde,
    "lcm": sample_lcm,
}


def get_sampler(name: str) -> SamplerFn:
    """The sampler called `name`.

    Raises:
        ValueError: Unknown sampler name (the message lists the valid ones).
    """
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler_name={name!r}; valid samplers: {', '.join(SAMPLERS)}")
    return SAMPLERS[name]
