"""Sample images during a run: one small fixed-seed picture of the first caption, drawn
with the UNet being trained, so a person can watch the style arrive (the TUI's sample pane).

`SamplePrompt` holds the caption's conditioning and the empty prompt's (for guidance), both
encoded while the text encoders are still loaded; `render_sample` runs a diffusers Euler
scheduler over SDXL's training schedule with the LoRA-carrying UNet in eval mode, decodes
through the engine's VAE (as `VAEDecode` does) and writes the PNG atomically into
`work_dir/samples/step_NNNNNN.png`. Same seed and step count every time, so two samples of
one run differ only by what the LoRA learned in between.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import torch
from PIL import Image

from comfy_nodes.pixel.atomic import write_atomic

if TYPE_CHECKING:
    from engine import TrainableSDXL

__all__ = [
    "SAMPLE_CFG",
    "SAMPLE_SIDE",
    "SAMPLE_STEPS",
    "SamplePrompt",
    "encode_sample_prompt",
    "render_sample",
    "sample_path",
]

SAMPLE_SIDE: Final[int] = 512  # at most: small enough to cost a few seconds on a GPU
SAMPLE_STEPS: Final[int] = 20
SAMPLE_CFG: Final[float] = 5.0
_SAMPLE_SEED: Final[int] = 1234


@dataclass(frozen=True)
class SamplePrompt:
    """What a sample is drawn from, on the training device.

    Attributes:
        caption: The caption drawn (the dataset's first).
        context: [2, 77·k, 2048]: the empty prompt's context, then the caption's.
        pooled: [2, 1280], in the same order.
        side: The sample's width and height in pixels (a multiple of 8).
    """

    caption: str
    context: torch.Tensor
    pooled: torch.Tensor
    side: int


def encode_sample_prompt(
    model: TrainableSDXL, caption: str, resolution: int, device: torch.device
) -> SamplePrompt:
    """Encode `caption` and the empty prompt (for guidance) while the encoders are loaded."""
    context, pooled = model.encode_prompt(caption)
    empty_context, empty_pooled = model.encode_prompt("")
    length = max(context.shape[1], empty_context.shape[1])  # a long caption has more chunks
    both = torch.cat([_pad_chunks(empty_context, length), _pad_chunks(context, length)])
    return SamplePrompt(
        caption=caption,
        context=both.to(device),
        pooled=torch.cat([empty_pooled, pooled]).to(device),
        side=min(SAMPLE_SIDE, resolution),
    )


def _pad_chunks(context: torch.Tensor, length: int) -> torch.Tensor:
    """Repeat the last 77-token chunk until `length` tokens (as ComfyUI pads cond lengths)."""
    while context.shape[1] < length:
        context = torch.cat([context, context[:, -77:]], dim=1)
    return context


def sample_path(work_dir: Path, step: int) -> Path:
    """Where the sample of `step` goes."""
    return work_dir / "samples" / f"step_{step:06d}.png"


def render_sample(
    unet: Any,
    model: TrainableSDXL,
    prompt: SamplePrompt,
    autocast: torch.dtype | None,
    path: Path,
) -> Path:
    """Draw one sample with `unet` (its LoRA applied) and write it to `path` atomically.

    The UNet is put in eval mode for the draw and back in train mode after; no gradient is
    kept and compiled blocks run eagerly (a third shape would only compile more graphs).

    Returns:
        `path`.
    """
    device = prompt.context.device
    unet.eval()
    try:
        with torch.no_grad(), torch.compiler.set_stance("force_eager"):
            latents = _denoise(unet, model.alphas_cumprod, prompt, autocast, device)
            image = _decode(model, latents, device)
    finally:
        unet.train()
    pixels = (image[0].numpy() * 255.0).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    return write_atomic(path, buffer.getvalue())


def _scheduler(alphas_cumprod: torch.Tensor) -> Any:
    from diffusers import EulerDiscreteScheduler

    # The model's own noise table (TrainableSDXL.alphas_cumprod), handed over as betas, so
    # the schedule's constants live once, in the engine.
    previous = torch.cat([alphas_cumprod.new_ones(1), alphas_cumprod[:-1]])
    betas = (1.0 - alphas_cumprod.double() / previous.double()).tolist()
    return EulerDiscreteScheduler(  # type: ignore[no-untyped-call]
        num_train_timesteps=len(betas),
        trained_betas=betas,
        timestep_spacing="leading",
        steps_offset=1,
    )


def _denoise(
    unet: Any,
    alphas_cumprod: torch.Tensor,
    prompt: SamplePrompt,
    autocast: torch.dtype | None,
    device: torch.device,
) -> torch.Tensor:
    scheduler = _scheduler(alphas_cumprod)
    scheduler.set_timesteps(SAMPLE_STEPS, device=device)
    side = prompt.side // 8
    generator = torch.Generator().manual_seed(_SAMPLE_SEED)
    latents = torch.randn((1, 4, side, side), generator=generator).to(device)
    latents = latents * scheduler.init_noise_sigma
    size = float(prompt.side)
    time_ids = torch.tensor([[size, size, 0.0, 0.0, size, size]] * 2, device=device)
    cond = {"text_embeds": prompt.pooled, "time_ids": time_ids}
    guided = _guided(unet, prompt.context, cond, autocast, device)
    for t in scheduler.timesteps:
        model_input = scheduler.scale_model_input(torch.cat([latents, latents]), t)
        latents = scheduler.step(guided(model_input, t), t, latents).prev_sample
    return latents  # type: ignore[no-any-return]


def _guided(
    unet: Any,
    context: torch.Tensor,
    cond: dict[str, torch.Tensor],
    autocast: torch.dtype | None,
    device: torch.device,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    def predict(model_input: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        scope = torch.autocast(device.type, dtype=autocast) if autocast else nullcontext()
        with scope:
            out = unet(model_input, t, encoder_hidden_states=context, added_cond_kwargs=cond)
        empty, caption = out.sample.float().chunk(2)
        return empty + SAMPLE_CFG * (caption - empty)  # type: ignore[no-any-return]

    return predict


def _decode(model: TrainableSDXL, latents: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Decode on the training device: the VAE comes over for the decode and goes back."""
    home = next(model.vae.parameters()).device
    model.vae.to(device)
    try:
        return model.decode_latents(latents)
    finally:
        model.vae.to(home)
