"""The training objective: SDXL's ε-prediction loss on cached latents, with optional min-SNR
weighting, and a deterministic validation loss.

Every random draw of optimiser step `s` comes from generators seeded by (seed, s), so a
resumed run repeats the uninterrupted one. The validation loss uses fixed noise and fixed
timesteps per held-out image, so its values are comparable across a run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Final

import torch

from training.embedded.data import CachedSample, SampleBatch

__all__ = ["VALIDATION_TIMESTEPS", "Objective"]

# Spread over the schedule: low, middle and high noise all count.
VALIDATION_TIMESTEPS: Final[tuple[int, ...]] = (150, 400, 650, 900)
_VALIDATION_SEED: Final[int] = 7919


@dataclass(frozen=True)
class Objective:
    """The loss of one UNet on batches.

    Attributes:
        forward: The UNet's call (possibly compiled).
        alphas_cumprod: ᾱ_t on the training device.
        autocast: Autocast dtype, or None.
        seed: The run's seed.
        min_snr_gamma: Min-SNR-γ weighting (ε-prediction: min(SNR, γ) / SNR), or None.
        channels_last: Feed latents in channels-last memory order.
        eager_forward: The uncompiled UNet for the validation loss (no_grad and another
            batch size would recompile a compiled `forward`); None: `forward`.
    """

    forward: Callable[..., Any]
    alphas_cumprod: torch.Tensor
    autocast: torch.dtype | None
    seed: int
    min_snr_gamma: float | None = None
    channels_last: bool = False
    eager_forward: Callable[..., Any] | None = None

    def _autocast(self, device: torch.device) -> Any:
        if self.autocast is None:
            return nullcontext()
        return torch.autocast(device.type, dtype=self.autocast)

    def _predict(
        self, noisy: torch.Tensor, t: torch.Tensor, batch: SampleBatch, eager: bool = False
    ) -> torch.Tensor:
        if self.channels_last:
            noisy = noisy.contiguous(memory_format=torch.channels_last)
        forward = self.eager_forward if eager and self.eager_forward is not None else self.forward
        with self._autocast(noisy.device):
            out = forward(
                noisy,
                t,
                encoder_hidden_states=batch.context,
                added_cond_kwargs={"text_embeds": batch.pooled, "time_ids": batch.time_ids},
            ).sample
        return out.float()  # type: ignore[no-any-return]

    def _noisy(
        self, latents: torch.Tensor, noise: torch.Tensor, t: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = self.alphas_cumprod[t].view(-1, 1, 1, 1)
        return alpha.sqrt() * latents + (1 - alpha).sqrt() * noise, alpha

    def training_loss(self, batch: SampleBatch, step: int) -> torch.Tensor:
        """The (weighted) loss of optimiser step `step`, as a 0-dim tensor (no host sync)."""
        latents = batch.latents
        cpu = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        t = torch.randint(0, len(self.alphas_cumprod), (latents.shape[0],), generator=cpu)
        t = t.to(latents.device)
        noise_gen = torch.Generator(latents.device).manual_seed(self.seed * 1_000_033 + step)
        noise = torch.randn(latents.shape, generator=noise_gen, device=latents.device)
        noisy, alpha = self._noisy(latents, noise, t)
        pred = self._predict(noisy, t, batch)
        loss = (pred - noise).pow(2).mean(dim=(1, 2, 3))
        if self.min_snr_gamma is not None:
            snr = (alpha / (1 - alpha)).flatten()
            loss = loss * snr.clamp(max=self.min_snr_gamma) / snr
        return loss.mean()

    @torch.no_grad()
    def validation_loss(self, samples: Sequence[CachedSample]) -> float:
        """Mean ε-MSE over `samples` × `VALIDATION_TIMESTEPS`, with fixed noise.

        Runs eagerly even where blocks are compiled: no_grad and its own batch size would
        compile a second set of graphs for a pass made once every few hundred steps.
        """
        with torch.compiler.set_stance("force_eager"):
            return self._validation_loss(samples)

    def _validation_loss(self, samples: Sequence[CachedSample]) -> float:
        total = 0.0
        for index, sample in enumerate(samples):
            count = len(VALIDATION_TIMESTEPS)
            device = sample.latent.device
            gen = torch.Generator().manual_seed(_VALIDATION_SEED + index)
            noise = torch.randn((count, *sample.latent.shape), generator=gen).to(device)
            t = torch.tensor(VALIDATION_TIMESTEPS, device=device)
            batch = SampleBatch(
                latents=sample.latent.expand(count, *sample.latent.shape),
                context=sample.context.expand(count, *sample.context.shape),
                pooled=sample.pooled.expand(count, *sample.pooled.shape),
                time_ids=sample.time_ids.expand(count, *sample.time_ids.shape),
            )
            noisy, _ = self._noisy(batch.latents, noise, t)
            pred = self._predict(noisy, t, batch, eager=True)
            total += float((pred - noise).pow(2).mean())
        return total / max(1, len(samples))
