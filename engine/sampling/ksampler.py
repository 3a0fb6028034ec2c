"""The KSampler pipeline, as `comfy.sample.sample` runs it.

Steps: sigmas for (scheduler, steps, denoise) → cut for start/end step → scale the latent
into model space → add the seed's noise (×sqrt(1+σ²) at full denoise, ×σ otherwise) →
run the sampler with CFG → scale back. Progress and interrupt go through callbacks so the
nodes (engine.context) and the benchmark share this exact code path.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.guidance import CFGDenoiser, Conditioning, EpsModel, prepare_conds
from engine.sampling.samplers import get_sampler
from engine.sampling.schedulers import SCHEDULERS, calculate_sigmas

__all__ = ["SampleRequest", "sample", "sigmas_for"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleRequest:
    """Everything KSampler / KSamplerAdvanced decide about one sampling run."""

    steps: int
    cfg: float
    sampler_name: str
    scheduler: str
    seed: int
    denoise: float = 1.0
    start_step: int | None = None
    last_step: int | None = None
    force_full_denoise: bool = False


def _schedule(schedule: DiscreteSchedule, request: SampleRequest, steps: int) -> torch.Tensor:
    """ComfyUI's `KSampler.calculate_sigmas`: a few samplers drop the penultimate sigma."""
    if get_sampler(request.sampler_name).discard_penultimate_sigma:
        sigmas = calculate_sigmas(schedule, request.scheduler, steps + 1)
        return torch.cat([sigmas[:-2], sigmas[-1:]])
    return calculate_sigmas(schedule, request.scheduler, steps)


def sigmas_for(schedule: DiscreteSchedule, request: SampleRequest) -> torch.Tensor:
    """ComfyUI's `KSampler.set_steps` + the start/last step cut of `KSampler.sample`."""
    if request.scheduler not in SCHEDULERS:
        raise ValueError(
            f"unknown scheduler={request.scheduler!r}; valid schedulers: {', '.join(SCHEDULERS)}"
        )
    if request.denoise > 0.9999:
        sigmas = _schedule(schedule, request, request.steps)
    elif request.denoise <= 0.0:
        sigmas = torch.FloatTensor([])
    else:
        full = _schedule(schedule, request, int(request.steps / request.denoise))
        sigmas = full[-(request.steps + 1) :]
    last = request.last_step
    if last is not None and last < len(sigmas) - 1:
        sigmas = sigmas[: last + 1].clone()
        if request.force_full_denoise:
            sigmas[-1] = 0
    if request.start_step is not None:
        sigmas = (
            sigmas[request.start_step :] if request.start_step < len(sigmas) - 1 else sigmas[:0]
        )
    return sigmas


def sample(
    model: EpsModel,
    noise: torch.Tensor,
    positive: Conditioning,
    negative: Conditioning,
    latent: torch.Tensor,
    request: SampleRequest,
    on_step: Callable[[int, int, torch.Tensor | None], None] | None = None,
    before_step: Callable[[], None] | None = None,
) -> torch.Tensor:
    """Denoise `latent` (VAE space, as in a LATENT dict) and return the result in VAE space.

    Args:
        model: The MODEL (see `EpsModel`).
        noise: Initial noise, usually `prepare_noise(latent, seed)` (zeros to add none).
        positive: CONDITIONING to steer towards.
        negative: CONDITIONING to steer away from.
        latent: The starting latent `[B, 4, H/8, W/8]`.
        request: Steps, cfg, sampler, scheduler, seed, denoise and the advanced cut.
        on_step: Called after each step with (done, total, the step's denoised latent in
            model space) — the latent feeds previews.
        before_step: Called before each model evaluation (raise there to interrupt).
    """
    sampler = get_sampler(request.sampler_name)
    sigmas = sigmas_for(model.schedule, request)
    if len(sigmas) <= 1:
        return latent
    total = len(sigmas) - 1
    device = model.device
    latent_in = latent.to(device=device, dtype=torch.float32) * model.latent_scale
    max_denoise = (
        math.isclose(model.schedule.sigma_max, float(sigmas[0]), rel_tol=1e-05)
        or float(sigmas[0]) > model.schedule.sigma_max
    )
    scale = math.sqrt(1.0 + float(sigmas[0]) ** 2) if max_denoise else float(sigmas[0])
    x = noise.to(device=device, dtype=torch.float32) * scale + latent_in
    denoiser = CFGDenoiser(
        model,
        prepare_conds(positive, latent.shape, device, model.dtype),
        prepare_conds(negative, latent.shape, device, model.dtype),
        request.cfg,
        before_step,
    )
    log.debug(
        "sampling %s/%s, %d steps, cfg %s",
        request.sampler_name,
        request.scheduler,
        total,
        request.cfg,
    )
    out = sampler.fn(
        denoiser,
        x,
        sigmas,  # on the CPU on purpose: see CFGDenoiser._denoise
        sampler.noise(x, sigmas, request.seed),
        (lambda i: on_step(i + 1, total, denoiser.last_denoised)) if on_step is not None else None,
    )
    return (out / model.latent_scale).float().cpu()
