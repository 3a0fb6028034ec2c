"""Sigma schedules with ComfyUI's names: one small function each, picked through a registry.

Each returns float32 sigmas ending in 0, computed as `comfy.samplers` does: `steps + 1` of
them, except where ComfyUI's own maths gives another count (`ddim_uniform` strides the
table and can take one step more; `beta` drops timesteps that round to the same index).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch

from engine.sampling.discrete import DiscreteSchedule

__all__ = ["SCHEDULERS", "SchedulerName", "calculate_sigmas"]

SchedulerName = Literal[
    "simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal"
]
SchedulerFn = Callable[[DiscreteSchedule, int], torch.Tensor]


def _append_zero(sigmas: torch.Tensor) -> torch.Tensor:
    return torch.cat([sigmas, sigmas.new_zeros([1])])


def normal(schedule: DiscreteSchedule, steps: int, sgm: bool = False) -> torch.Tensor:
    """Timesteps evenly spaced from the last to the first table entry, mapped to sigmas."""
    start = schedule.timestep(torch.tensor(schedule.sigma_max))
    end = schedule.timestep(torch.tensor(schedule.sigma_min))
    append_zero = True
    if sgm:
        timesteps = torch.linspace(float(start), float(end), steps + 1)[:-1]
    else:
        if math.isclose(float(schedule.sigma(end)), 0, abs_tol=0.00001):
            steps, append_zero = steps + 1, False
        timesteps = torch.linspace(float(start), float(end), steps)
    sigs = [float(schedule.sigma(ts)) for ts in timesteps]
    return torch.FloatTensor([*sigs, 0.0] if append_zero else sigs)


def sgm_uniform(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    """`normal` without its last timestep (SGM's uniform discretisation)."""
    return normal(schedule, steps, sgm=True)


def simple(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    """Every `1000/steps`-th table sigma from the top."""
    stride = len(schedule.sigmas) / steps
    sigs = [float(schedule.sigmas[-(1 + int(x * stride))]) for x in range(steps)]
    return torch.FloatTensor([*sigs, 0.0])


def ddim_uniform(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    """Every `1000 // steps`-th table sigma from index 1 upwards, reversed (DDIM's spacing)."""
    table = schedule.sigmas
    # A zero-terminal-SNR table already ends at 0 there, so ComfyUI appends no 0 to it.
    ends_at_zero = math.isclose(float(table[1]), 0, abs_tol=0.00001)
    stride = max(len(table) // (steps + 1 if ends_at_zero else steps), 1)
    sigs = [float(s) for s in table[1::stride]][::-1]
    return torch.FloatTensor(sigs if ends_at_zero else [*sigs, 0.0])


def beta_quantiles(
    schedule: DiscreteSchedule, steps: int, alpha: float = 0.6, beta: float = 0.6
) -> torch.Tensor:
    """Table sigmas at the Beta(alpha, beta) quantiles of the timesteps (arXiv 2407.12173).

    Both ends of the trajectory get denser steps; a timestep that rounds to the previous
    one is skipped, as ComfyUI does, so few-step schedules may be shorter than `steps`.
    """
    from scipy.stats import beta as beta_dist  # only this schedule needs scipy.stats

    total = len(schedule.sigmas) - 1
    quantiles = 1 - np.linspace(0, 1, steps, endpoint=False)
    timesteps = np.rint(beta_dist.ppf(quantiles, alpha, beta) * total)
    kept = [int(t) for i, t in enumerate(timesteps) if i == 0 or t != timesteps[i - 1]]
    return torch.FloatTensor([*(float(schedule.sigmas[t]) for t in kept), 0.0])


def karras(schedule: DiscreteSchedule, steps: int, rho: float = 7.0) -> torch.Tensor:
    """Karras et al. (2022): evenly spaced in sigma^(1/rho)."""
    ramp = torch.linspace(0, 1, steps)
    min_inv, max_inv = schedule.sigma_min ** (1 / rho), schedule.sigma_max ** (1 / rho)
    return _append_zero((max_inv + ramp * (min_inv - max_inv)) ** rho)


def exponential(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    """Evenly spaced in log sigma."""
    return _append_zero(
        torch.linspace(math.log(schedule.sigma_max), math.log(schedule.sigma_min), steps).exp()
    )


# Listed in ComfyUI's own order (`comfy.samplers.SCHEDULER_NAMES`): the KSampler combo shows
# them in this order and an editor preselects the first ("simple") as ComfyUI does.
SCHEDULERS: dict[SchedulerName, SchedulerFn] = {
    "simple": simple,
    "sgm_uniform": sgm_uniform,
    "karras": karras,
    "exponential": exponential,
    "ddim_uniform": ddim_uniform,
    "beta": beta_quantiles,
    "normal": normal,
}


def calculate_sigmas(schedule: DiscreteSchedule, name: str, steps: int) -> torch.Tensor:
    """The sigmas of scheduler `name` for `steps` steps.

    Raises:
        ValueError: Unknown scheduler name (the message lists the valid ones).
    """
    if name not in SCHEDULERS:
        raise ValueError(f"unknown scheduler={name!r}; valid schedulers: {', '.join(SCHEDULERS)}")
    return SCHEDULERS[name](schedule, steps)
