"""UniPC, the unified predictor-corrector (ComfyUI's `uni_pc` and `uni_pc_bh2`).

ComfyUI runs UniPC (Zhao et al. 2023) in the variance-preserving frame on sigmas: data
prediction, multistep of order min(3, steps - 1), lower orders for the first and last
steps, the corrector after every step but the last, B(h) = h (`bh1`) or e^h - 1 (`bh2`).
It cannot reach sigma 0, so a final 0 is replaced by 0.001 and the result rescaled. The
arithmetic follows ComfyUI's `comfy/extra_samplers/uni_pc.py` op for op (0-dim sigmas in
place of its per-batch vectors: the same numbers), so results agree to float rounding.
ComfyUI also drops the penultimate sigma for both names (the registry says so).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch

from engine.sampling.noise import NoiseSampler
from engine.sampling.samplers.base import Denoiser, StepCallback

__all__ = ["sample_uni_pc", "sample_uni_pc_bh2"]

Variant = Literal["bh1", "bh2"]
_LAST_SIGMA = 0.001  # where ComfyUI's UniPC stops instead of 0


def _log_alpha(sigma: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.log(1 / ((sigma * sigma) + 1))


def _alpha(sigma: torch.Tensor) -> torch.Tensor:
    return torch.exp(_log_alpha(sigma))


def _std(sigma: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(1.0 - torch.exp(2.0 * _log_alpha(sigma)))


def _lambda(sigma: torch.Tensor) -> torch.Tensor:
    """Half-log-SNR log(alpha) - log(std) of the VP frame."""
    log_alpha = _log_alpha(sigma)
    return log_alpha - 0.5 * torch.log(1.0 - torch.exp(2.0 * log_alpha))


def _data_prediction(model: Denoiser, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x0 from a VP-frame x, through the k-diffusion denoiser's noise estimate."""
    x_in = x * ((sigma**2 + 1.0) ** 0.5)
    eps = (x_in - model(x_in, sigma)) / sigma
    return (x - _std(sigma) * eps) / _alpha(sigma)


def _coefficients(
    rks: torch.Tensor, hh: torch.Tensor, order: int, variant: Variant
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The Vandermonde system R, right-hand side b and B(h) of one update."""
    h_phi_k = torch.expm1(hh) / hh - 1
    b_h = hh if variant == "bh1" else torch.expm1(hh)
    rows, rhs, factorial = [], [], 1
    for i in range(1, order + 1):
        rows.append(torch.pow(rks, i - 1))
        rhs.append(h_phi_k * factorial / b_h)
        factorial *= i + 1
        h_phi_k = h_phi_k / hh - 1 / factorial
    return torch.stack(rows), torch.tensor(rhs), b_h


def _weighted(d1s: torch.Tensor | None, rhos: torch.Tensor) -> torch.Tensor | float:
    """Sum of the earlier slopes weighted by `rhos` (0 when there are none)."""
    return 0 if d1s is None else torch.tensordot(d1s, rhos, dims=([1], [0]))


def _update(
    predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    history: list[tuple[torch.Tensor, torch.Tensor]],
    t: torch.Tensor,
    order: int,
    variant: Variant,
    use_corrector: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One multistep B(h) update from the last point of `history` (sigma, x0) to sigma `t`."""
    t_prev, model_prev = history[-1]
    lambda_prev = _lambda(t_prev)
    h = _lambda(t) - lambda_prev
    earlier = [history[-(i + 1)] for i in range(1, order)]  # newest first
    rks = [(_lambda(t_i) - lambda_prev) / h for t_i, _ in earlier]
    slopes = [(m_i - model_prev) / rk for (_, m_i), rk in zip(earlier, rks, strict=True)]
    hh = -h
    r, b, b_h = _coefficients(torch.tensor([*rks, 1.0]), hh, order, variant)
    d1s = torch.stack(slopes, dim=1) if slopes else None
    alpha_t = torch.exp(_log_alpha(t))
    x_lin = (_std(t) / _std(t_prev)) * x - (alpha_t * torch.expm1(hh)) * model_prev
    if d1s is not None:  # predictor
        rhos_p = torch.tensor([0.5]) if order == 2 else torch.linalg.solve(r[:-1, :-1], b[:-1])
        x_t = x_lin - (alpha_t * b_h) * _weighted(d1s, rhos_p)
    else:
        x_t = x_lin - (alpha_t * b_h) * 0
    if not use_corrector:
        return x_t, None
    model_t = predict(x_t, t)
    rhos_c = torch.tensor([0.5]) if order == 1 else torch.linalg.solve(r, b)
    correction = _weighted(d1s, rhos_c[:-1]) + rhos_c[-1] * (model_t - model_prev)
    return x_lin - (alpha_t * b_h) * correction, model_t


def _sample(
    model: Denoiser,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    callback: StepCallback | None,
    variant: Variant,
) -> torch.Tensor:
    times = sigmas.clone()
    if times[-1] == 0:
        times[-1] = _LAST_SIGMA
    steps = len(times) - 1
    order = min(3, steps - 1)  # 0 for a single step: ComfyUI then takes none (kept as is)

    def predict(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return _data_prediction(model, x, sigma)

    x = x / torch.sqrt(1.0 + times[0] ** 2.0)
    history = [(times[0], predict(x, times[0]))]
    for step in range(1, steps + 1 if order else 1):
        # Warm-up steps climb to `order`; the last ones come back down (lower_order_final).
        step_order = step if step < order else min(order, steps + 1 - step)
        x, model_x = _update(predict, x, history, times[step], step_order, variant, step < steps)
        if model_x is not None:
            history = [*history, (times[step], model_x)][-order:]
        if callback is not None:
            callback(step - 1)
    return x / _alpha(times[-1])


@torch.no_grad()
def sample_uni_pc(
    model: Denoiser,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    noise_sampler: NoiseSampler,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """UniPC with B(h) = h (ComfyUI's `uni_pc`)."""
    return _sample(model, x, sigmas, callback, "bh1")


@torch.no_grad()
def sample_uni_pc_bh2(
    model: Denoiser,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    noise_sampler: NoiseSampler,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """UniPC with B(h) = e^h - 1 (ComfyUI's `uni_pc_bh2`)."""
    return _sample(model, x, sigmas, callback, "bh2")
