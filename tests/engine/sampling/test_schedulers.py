"""Sigma schedules match ComfyUI's values, computed here independently from the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.schedulers import SCHEDULERS, calculate_sigmas


def _table() -> np.ndarray:
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float64) ** 2
    abar = np.cumprod(1.0 - betas)
    return np.sqrt((1 - abar) / abar).astype(np.float32)


def test_sdxl_table_has_comfyui_sigma_range() -> None:
    schedule = DiscreteSchedule()
    assert schedule.sigma_min == pytest.approx(0.0292, abs=1e-4)
    assert schedule.sigma_max == pytest.approx(14.6146, abs=1e-4)
    assert np.allclose(schedule.sigmas.numpy(), _table())


def test_karras_matches_the_formula() -> None:
    lo, hi, rho, n = 0.0291675, 14.614642, 7.0, 10  # ComfyUI's SDXL sigma_min/sigma_max
    ramp = np.linspace(0, 1, n)
    expected = (hi ** (1 / rho) + ramp * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho
    sigmas = calculate_sigmas(DiscreteSchedule(), "karras", n)
    assert sigmas[-1] == 0 and len(sigmas) == n + 1
    assert np.allclose(sigmas[:-1].numpy(), expected, rtol=1e-4)


def test_exponential_is_even_in_log_sigma() -> None:
    sigmas = calculate_sigmas(DiscreteSchedule(), "exponential", 5)[:-1].double().log().numpy()
    assert np.allclose(np.diff(sigmas), np.diff(sigmas)[0], atol=1e-5)


def test_normal_interpolates_the_table_in_log_space() -> None:
    table = np.log(_table().astype(np.float64))
    steps = 4
    expected = []
    for t in np.linspace(999, 0, steps):
        lo, hi, w = math.floor(t), math.ceil(t), t - math.floor(t)
        expected.append(math.exp((1 - w) * table[lo] + w * table[hi]))
    sigmas = calculate_sigmas(DiscreteSchedule(), "normal", steps)
    assert np.allclose(sigmas.numpy(), [*expected, 0.0], rtol=1e-5)


def test_sgm_uniform_drops_the_last_timestep() -> None:
    table = _table()
    sigmas = calculate_sigmas(DiscreteSchedule(), "sgm_uniform", 4)
    ts = np.linspace(999, 0, 5)[:-1]
    assert sigmas[0] == pytest.approx(float(table[999]), rel=1e-5)
    assert len(sigmas) == 5 and sigmas[-1] == 0
    assert sigmas[2] == pytest.approx(
        float(np.exp(np.interp(ts[2], np.arange(1000), np.log(table)))), rel=1e-4
    )


def test_simple_takes_every_nth_table_entry() -> None:
    table = _table()
    sigmas = calculate_sigmas(DiscreteSchedule(), "simple", 4)
    assert sigmas.tolist() == pytest.approx([float(table[-1 - i * 250]) for i in range(4)] + [0.0])


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_every_schedule_descends_to_zero(name: str) -> None:
    sigmas = calculate_sigmas(DiscreteSchedule(), name, 8)
    assert len(sigmas) == 9 and sigmas[-1] == 0
    assert torch.all(sigmas[:-1] > sigmas[1:])


def test_ddim_uniform_strides_the_table_from_index_one() -> None:
    table = _table()
    sigmas = calculate_sigmas(DiscreteSchedule(), "ddim_uniform", 6)
    # 1000 // 6 = 166: indices 1, 167, ..., 997 are seven, so ComfyUI takes 7 steps
    assert sigmas.tolist() == pytest.approx([float(table[i]) for i in range(997, 0, -166)] + [0.0])


def test_beta_skips_timesteps_that_round_alike() -> None:
    sigmas = calculate_sigmas(DiscreteSchedule(), "beta", 300)  # more steps than distinct ends
    assert len(sigmas) < 301 and sigmas[0] == pytest.approx(float(_table()[-1]))
    assert torch.all(sigmas[:-1] > sigmas[1:])


def test_unknown_scheduler_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"scheduler='kl_optimal'.*ddim_uniform, beta"):
        calculate_sigmas(DiscreteSchedule(), "kl_optimal", 4)


def test_registries_cover_exactly_their_literal_names() -> None:
    from typing import get_args

    from engine.sampling.samplers import SAMPLERS, SamplerName
    from engine.sampling.schedulers import SchedulerName

    assert set(SCHEDULERS) == set(get_args(SchedulerName))
    assert set(SAMPLERS) == set(get_args(SamplerName))
