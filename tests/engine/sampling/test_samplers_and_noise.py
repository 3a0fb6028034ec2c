"""Noise is ComfyUI's; each sampler integrates a toy denoiser; KSampler's step window works."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.ksampler import SampleRequest, sigmas_for
from engine.sampling.noise import prepare_noise
from engine.sampling.samplers import SAMPLERS, get_sampler
from engine.sampling.schedulers import calculate_sigmas


def test_noise_for_seed_42_is_torch_manual_seed_42() -> None:
    latent = torch.zeros(2, 4, 8, 8)
    expected = torch.randn(latent.shape, generator=torch.manual_seed(42))
    assert torch.equal(prepare_noise(latent, 42), expected)


def test_batch_index_reuses_per_image_noise_like_comfyui() -> None:
    latent = torch.zeros(1, 4, 2, 2)
    gen = torch.manual_seed(7)
    draws = [torch.randn([1, 4, 2, 2], generator=gen) for _ in range(3)]
    noise = prepare_noise(torch.zeros(2, 4, 2, 2), 7, batch_index=[2, 0])
    assert torch.equal(noise, torch.cat([draws[2], draws[0]]))
    assert (
        prepare_noise(latent, 2**64 - 1).shape == latent.shape
    )  # the top of KSampler's seed range


class ToyDenoiser:
    """Always predicts the same clean sample; counts its calls."""

    def __init__(self, target: torch.Tensor) -> None:
        self.target, self.calls = target, 0

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.target.expand_as(x)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_each_sampler_lands_on_the_clean_sample(name: str) -> None:
    target = torch.full((1, 4, 4, 4), 0.25)
    sigmas = calculate_sigmas(DiscreteSchedule(), "karras", 6)
    x = torch.randn(1, 4, 4, 4, generator=torch.manual_seed(0)) * sigmas[0]
    model, steps, sampler = ToyDenoiser(target), list[int](), get_sampler(name)
    out = sampler.fn(model, x, sigmas, sampler.noise(x, sigmas, 3), steps.append)
    # UniPC stops at sigma 0.001, as in ComfyUI, so a trace of the noise is left
    assert torch.allclose(out, target, atol=5e-3 if name.startswith("uni_pc") else 1e-5)
    second_order = name in {"heun", "dpm_2"} or name.startswith("dpmpp_sde")
    evals_per_step = 2 if second_order else 1  # a second evaluation inside each step
    assert steps == list(range(6)) and model.calls == 5 * evals_per_step + 1


@pytest.mark.parametrize("name", ["euler_ancestral", "dpmpp_sde", "dpmpp_2m_sde", "lcm"])
def test_stochastic_samplers_are_deterministic_for_a_seed(name: str) -> None:
    sigmas = torch.tensor([14.6, 5.0, 1.0, 0.5])  # stops above 0 so the last noise shows

    def run(seed: int) -> torch.Tensor:
        x, sampler = torch.zeros(1, 4, 4, 4), get_sampler(name)
        return sampler.fn(lambda x, s: x * 0.5, x, sigmas, sampler.noise(x, sigmas, seed))

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


def test_unknown_sampler_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"sampler_name='lms'.*euler_ancestral"):
        get_sampler("lms")


SCHEDULE = DiscreteSchedule()


def test_denoise_below_one_takes_the_tail_of_a_longer_schedule() -> None:
    req = SampleRequest(
        steps=4, cfg=1.0, sampler_name="euler", scheduler="normal", seed=0, denoise=0.5
    )
    full = calculate_sigmas(SCHEDULE, "normal", 8)
    assert torch.equal(sigmas_for(SCHEDULE, req), full[-5:])


def test_advanced_window_cuts_and_forces_full_denoise() -> None:
    base: dict[str, Any] = {
        "steps": 10,
        "cfg": 1.0,
        "sampler_name": "euler",
        "scheduler": "karras",
        "seed": 0,
    }
    full = calculate_sigmas(SCHEDULE, "karras", 10)
    first = sigmas_for(SCHEDULE, SampleRequest(**base, last_step=4))
    assert torch.equal(first, full[:5])
    leftover = sigmas_for(SCHEDULE, SampleRequest(**base, last_step=4, force_full_denoise=True))
    assert leftover[-1] == 0
    second = sigmas_for(SCHEDULE, SampleRequest(**base, start_step=4))
    assert torch.equal(second, full[4:])
    assert len(sigmas_for(SCHEDULE, SampleRequest(**base, start_step=10))) == 0
