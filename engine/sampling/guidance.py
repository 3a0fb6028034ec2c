"""Turn an EPS-predicting SDXL UNet plus conditioning into a k-diffusion denoiser with CFG.

As ComfyUI: the UNet sees `x / sqrt(sigma² + 1)` at the nearest discrete timestep, the
denoised estimate is `x - sigma * eps`, guidance is `uncond + (cond - uncond) * cfg`, the
uncond pass is skipped when cfg is 1, and several conditioning entries are averaged.
SDXL's added conditioning is the pooled CLIP-G embedding plus the six size/crop numbers
(height, width, crop_h, crop_w, target_height, target_width); unset sizes default to the
latent's pixel size, as in ComfyUI's `encode_model_conds`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from engine.context import engine_observer
from engine.sampling.discrete import DiscreteSchedule

__all__ = ["CFGDenoiser", "CondBatch", "Conditioning", "EpsModel", "prepare_conds"]

# ComfyUI CONDITIONING: [[tensor [B, tokens, 2048], {"pooled_output": tensor [B, 1280], ...}], ...]
Conditioning = Sequence[Sequence[Any]]


class EpsModel(Protocol):
    """What sampling needs from a MODEL."""

    @property
    def device(self) -> torch.device: ...
    @property
    def dtype(self) -> torch.dtype: ...
    @property
    def schedule(self) -> DiscreteSchedule: ...
    @property
    def latent_scale(self) -> float: ...

    def predict_eps(
        self,
        x: torch.Tensor,
        timestep: torch.Tensor,
        context: torch.Tensor,
        pooled: torch.Tensor,
        time_ids: torch.Tensor,
    ) -> torch.Tensor: ...


@dataclass(frozen=True)
class CondBatch:
    """One conditioning entry, batched to the latent's batch size."""

    context: torch.Tensor  # [B, tokens, 2048]
    pooled: torch.Tensor  # [B, 1280]
    time_ids: torch.Tensor  # [B, 6]

    @staticmethod
    def cat(parts: Sequence[CondBatch]) -> CondBatch:
        return CondBatch(
            context=torch.cat([p.context for p in parts]),
            pooled=torch.cat([p.pooled for p in parts]),
            time_ids=torch.cat([p.time_ids for p in parts]),
        )


def _repeat_to(t: torch.Tensor, batch: int) -> torch.Tensor:
    if t.shape[0] == batch:
        return t
    reps = math.ceil(batch / t.shape[0])
    return t.repeat(reps, *([1] * (t.ndim - 1)))[:batch]


def prepare_conds(
    conditioning: Conditioning,
    latent_shape: Sequence[int],
    device: torch.device,
    dtype: torch.dtype,
) -> list[CondBatch]:
    """ComfyUI CONDITIONING → one `CondBatch` per entry, on the model's device and dtype."""
    batch, height, width = latent_shape[0], latent_shape[2] * 8, latent_shape[3] * 8
    out = []
    for tensor, extra in conditioning:
        pooled = extra.get("pooled_output")
        if pooled is None:
            raise ValueError(
                "conditioning has no 'pooled_output'; SDXL needs CLIP-G's pooled embedding"
            )
        h, w = extra.get("height", height), extra.get("width", width)
        ids = [
            h,
            w,
            extra.get("crop_h", 0),
            extra.get("crop_w", 0),
            extra.get("target_height", h),
            extra.get("target_width", w),
        ]
        time_ids = torch.tensor([ids], dtype=torch.float32).repeat(batch, 1)
        out.append(
            CondBatch(
                context=_repeat_to(tensor, batch).to(device=device, dtype=dtype),
                pooled=_repeat_to(pooled, batch).to(device=device, dtype=dtype),
                time_ids=time_ids.to(device=device, dtype=dtype),
            )
        )
    return out


class CFGDenoiser:
    """k-diffusion denoiser over an EPS model with classifier-free guidance."""

    def __init__(
        self,
        model: EpsModel,
        positive: list[CondBatch],
        negative: list[CondBatch],
        cfg: float,
        before_step: Callable[[], None] | None = None,
    ) -> None:
        self.model, self.positive, self.negative, self.cfg = model, positive, negative, cfg
        self.before_step = before_step
        self.last_denoised: torch.Tensor | None = None  # for previews
        self._last_call: float | None = None

    def _denoise(self, x: torch.Tensor, sigma: torch.Tensor, cond: CondBatch) -> torch.Tensor:
        # Sigmas stay on the CPU and enter GPU math as Python scalars: no host-device copy,
        # hence no stream sync, per step (batch-1 SDXL is launch-bound on a GPU).
        s = float(sigma)
        timestep = float(self.model.schedule.timestep(torch.tensor([s]))[0])
        t = torch.full((x.shape[0],), timestep, device=x.device)
        x_in = (x / math.sqrt(s * s + 1.0)).to(self.model.dtype)
        eps = self.model.predict_eps(x_in, t, cond.context, cond.pooled, cond.time_ids)
        return x - eps.float() * s

    def _mean(self, x: torch.Tensor, sigma: torch.Tensor, conds: list[CondBatch]) -> torch.Tensor:
        outs = [self._denoise(x, sigma, c) for c in conds]
        return torch.stack(outs).mean(dim=0) if len(outs) > 1 else outs[0]

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        # The step period (call to call), not the call itself: on a GPU a call only queues
        # kernels, and timing it would need a stream sync per step.
        now = time.perf_counter()
        if self._last_call is not None:
            engine_observer().unet_step(now - self._last_call)
        self._last_call = now
        if self.before_step is not None:
            self.before_step()
        self.last_denoised = self._guided(x, sigma)
        return self.last_denoised

    def _guided(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if math.isclose(self.cfg, 1.0):
            return self._mean(x, sigma, self.positive)
        pos, neg = self.positive, self.negative
        if len(pos) == len(neg) == 1 and pos[0].context.shape == neg[0].context.shape:
            both = self._denoise(torch.cat([x, x]), sigma, CondBatch.cat([neg[0], pos[0]]))
            uncond, cond = both.chunk(2)
        else:
            cond, uncond = self._mean(x, sigma, pos), self._mean(x, sigma, neg)
        return uncond + (cond - uncond) * self.cfg
