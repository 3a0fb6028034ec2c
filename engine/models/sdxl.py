"""What flows on MODEL, CLIP and VAE wires: light wrappers over one loaded checkpoint.

A wrapper shares the cached modules and carries its own LoRA stack, like ComfyUI's
ModelPatcher: `with_lora` returns a new wrapper and never touches the base weights; the
stack is applied only inside `patched()` (sampling, text encoding) and undone afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import torch

from engine.context import engine_observer
from engine.models.checkpoint import LoadedCheckpoint
from engine.models.compile import compile_observed, note_compiled_shape
from engine.models.lora import (
    LoraFile,
    LoraPatch,
    applied,
    clip_key_map,
    match_lora,
    unet_key_map,
)
from engine.models.prompt import WeightedChunk, apply_weights, chunk_tokens
from engine.sampling.discrete import DiscreteSchedule

__all__ = ["SDXLClip", "SDXLModel", "SDXLVae", "Tokenizers"]

SDXL_LATENT_SCALE = 0.13025
BOS, EOS = 49406, 49407  # CLIP's <|startoftext|> / <|endoftext|>


@dataclass(frozen=True)
class SDXLModel:
    """MODEL: the UNet of a checkpoint plus a LoRA stack."""

    checkpoint: LoadedCheckpoint
    schedule: DiscreteSchedule
    patches: tuple[LoraPatch, ...] = ()
    latent_scale: float = SDXL_LATENT_SCALE

    @property
    def device(self) -> torch.device:
        return next(self.checkpoint.unet.parameters()).device  # type: ignore[no-any-return]

    @property
    def dtype(self) -> torch.dtype:
        return next(self.checkpoint.unet.parameters()).dtype  # type: ignore[no-any-return]

    @property
    def is_demo(self) -> bool:
        return self.checkpoint.is_demo

    @property
    def cache_key(self) -> tuple[Any, ...]:
        """Identity for output caching: file, mtime and the LoRA stack."""
        stat = self.checkpoint.path.stat()
        stack = tuple((str(p.lora.path), p.strength) for p in self.patches)
        return (str(self.checkpoint.path), stat.st_mtime_ns, stack)

    def with_lora(self, lora: LoraFile, strength: float) -> tuple[SDXLModel, list[str]]:
        """A new MODEL with `lora` added, and the LoRA's names that match no UNet module.

        A zero strength returns this MODEL unchanged (as ComfyUI does).
        """
        keys = {"unet": unet_key_map(self.checkpoint.unet, self.checkpoint.unet_names)}
        _, unmatched = match_lora([LoraPatch(lora, strength)], keys)
        if strength == 0:
            return self, unmatched
        return replace(self, patches=(*self.patches, LoraPatch(lora, strength))), unmatched

    @contextmanager
    def patched(self) -> Iterator[SDXLModel]:
        """Apply the LoRA stack to the shared UNet for the block; restore afterwards."""
        ckpt = self.checkpoint
        if self.patches and (ckpt.fp8 or ckpt.qkv_fused):
            from engine.errors import ModelLoadError

            lever = "precision fp8" if ckpt.fp8 else "fuse_qkv on"
            raise ModelLoadError(
                f"LoRA {self.patches[0].lora.path.name!r} cannot patch the UNet of "
                f"{ckpt.path.name} loaded with {lever} (the weights it reads are no longer "
                "the ones a LoRA patches); use precision fp16/bf16 and fuse_qkv off for LoRAs"
            )
        keys = {"unet": unet_key_map(ckpt.unet, ckpt.unet_names)}
        matched, _ = match_lora(self.patches, keys)
        with applied(ckpt.unet, matched["unet"]):
            yield self

    def predict_eps(
        self,
        x: torch.Tensor,
        timestep: torch.Tensor,
        context: torch.Tensor,
        pooled: torch.Tensor,
        time_ids: torch.Tensor,
    ) -> torch.Tensor:
        """One UNet evaluation (call inside `patched()` so LoRAs apply)."""
        compiling = note_compiled_shape(self.checkpoint, "UNet", tuple(x.shape))
        with compile_observed(compiling, "unet"), torch.no_grad():
            out = self.checkpoint.unet(
                x,
                timestep,
                encoder_hidden_states=context,
                added_cond_kwargs={"text_embeds": pooled, "time_ids": time_ids},
            )
        return out.sample  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Tokenizers:
    """SDXL's two tokenizers (CLIP-L pads with end-of-text, CLIP-G with "!")."""

    clip_l: Any
    clip_g: Any


@dataclass(frozen=True)
class SDXLClip:
    """CLIP: both text encoders of a checkpoint, their tokenizers and a LoRA stack."""

    checkpoint: LoadedCheckpoint
    tokenizers: Tokenizers
    patches: tuple[LoraPatch, ...] = ()

    def _key_maps(self) -> dict[str, dict[str, str]]:
        return {
            "te1": clip_key_map(self.checkpoint.text_encoder_l, "lora_te1_"),
            "te2": clip_key_map(self.checkpoint.text_encoder_g, "lora_te2_"),
        }

    def with_lora(self, lora: LoraFile, strength: float) -> SDXLClip:
        """A new CLIP with `lora` added (a zero strength returns this one unchanged)."""
        if strength == 0:
            return self
        return replace(self, patches=(*self.patches, LoraPatch(lora, strength)))

    def unmatched_keys(self, lora: LoraFile) -> list[str]:
        """The text-encoder keys of `lora` that match neither encoder."""
        te_only = LoraFile(
            lora.path, {k: v for k, v in lora.modules.items() if k.startswith("lora_te")}
        )
        return match_lora([LoraPatch(te_only, 1.0)], self._key_maps())[1]

    def _chunks(self, text: str, clip_g: bool) -> list[WeightedChunk]:
        tokenizer = self.tokenizers.clip_g if clip_g else self.tokenizers.clip_l

        def encode(segment: str) -> list[int]:
            return list(tokenizer(segment, add_special_tokens=False, verbose=False).input_ids)

        return chunk_tokens(text, encode, BOS, EOS, 0 if clip_g else EOS)

    def encode(self, text_l: str, text_g: str) -> tuple[torch.Tensor, torch.Tensor]:
        """SDXL text conditioning as ComfyUI builds it.

        Returns:
            ([1, 77·chunks, 2048] penultimate states of CLIP-L ‖ CLIP-G, [1, 1280] pooled CLIP-G
            of the first chunk). `(word:1.2)` weights and prompts over 77 tokens are handled
            like ComfyUI (see `engine.models.prompt`).
        """
        chunks_l, chunks_g = self._chunks(text_l, False), self._chunks(text_g, True)
        # CLIPTextEncodeSDXL: the shorter prompt is padded with empty chunks.
        chunks_l += self._chunks("", False) * (len(chunks_g) - len(chunks_l))
        chunks_g += self._chunks("", True) * (len(chunks_l) - len(chunks_g))
        te1, te2 = self.checkpoint.text_encoder_l, self.checkpoint.text_encoder_g
        matched, _ = match_lora(self.patches, self._key_maps())
        with applied(te1, matched["te1"]), applied(te2, matched["te2"]), torch.no_grad():
            cond_l, _ = _encode_chunks(te1, chunks_l, self._chunks("", False)[0])
            cond_g, pooled = _encode_chunks(te2, chunks_g, self._chunks("", True)[0])
        cond = torch.cat([cond_l, cond_g], dim=-1)
        return cond.float().cpu(), pooled.float().cpu()


def _encode_chunks(
    encoder: Any, chunks: list[WeightedChunk], empty: WeightedChunk
) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate hidden states of all chunks (weighted), and the first chunk's pooled output."""
    weighted = any(w != 1.0 for c in chunks for w in c.weights)
    ids = [c.ids for c in chunks] + ([empty.ids] if weighted else [])
    device = next(encoder.parameters()).device
    out = encoder(torch.tensor(ids, device=device), output_hidden_states=True)
    states = out.hidden_states[-2]
    pooled = out.text_embeds[0:1] if hasattr(out, "text_embeds") else out.pooler_output[0:1]
    if weighted:
        return apply_weights(states[:-1], states[-1], chunks), pooled
    return states.reshape(1, -1, states.shape[-1]), pooled


@dataclass(frozen=True)
class SDXLVae:
    """VAE: the autoencoder of a checkpoint (latents in VAE space, images 0..1 BHWC)."""

    checkpoint: LoadedCheckpoint

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """[B, 4, h, w] latent → [B, 8h, 8w, 3] float32 image in 0..1 on the CPU."""
        vae = self.checkpoint.vae
        param = next(vae.parameters())
        compiling = note_compiled_shape(self.checkpoint, "VAE decoder", tuple(latent.shape))
        began = time.perf_counter()
        latent = latent.to(device=param.device, dtype=param.dtype)
        step = self.checkpoint.vae_slice or latent.shape[0]
        with compile_observed(compiling, "vae"), torch.no_grad():
            # In slices of `vae_slice` latents: the decoder's activations dominate peak VRAM.
            # Each slice becomes a new tensor at once: a CUDA-graph replay (compile mode
            # reduce-overhead) overwrites its output on the next call.
            out = torch.cat(
                [
                    _to_image(vae.decode(latent[i : i + step]).sample)
                    for i in range(0, latent.shape[0], step)
                ]
            )
        out = out.cpu()  # waits for the GPU, so the time below is the decode's own
        engine_observer().vae_decode(time.perf_counter() - began)
        return out

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """[B, H, W, C] image in 0..1 → [B, 4, H/8, W/8] latent (distribution mode)."""
        h, w = (pixels.shape[1] // 8) * 8, (pixels.shape[2] // 8) * 8
        if (h, w) != tuple(pixels.shape[1:3]):  # ComfyUI crops to a multiple of 8, centred
            top, left = (pixels.shape[1] % 8) // 2, (pixels.shape[2] % 8) // 2
            pixels = pixels[:, top : top + h, left : left + w, :]
        vae = self.checkpoint.vae
        param = next(vae.parameters())
        x = (
            pixels[..., :3].permute(0, 3, 1, 2).to(device=param.device, dtype=param.dtype) * 2.0
            - 1.0
        )
        with torch.no_grad():
            latent: torch.Tensor = vae.encode(x).latent_dist.mode()
        return latent.float().cpu()


def _to_image(decoded: torch.Tensor) -> torch.Tensor:
    """VAE output in -1..1, BCHW → float32 0..1, BHWC, contiguous (a new tensor).

    Channels-last in memory before it leaves the device (free on a GPU): pixelize and
    SaveImage then read it row by row instead of striding across colour planes.
    """
    image = ((decoded.float() + 1.0) / 2.0).clamp(0.0, 1.0).permute(0, 2, 3, 1)
    return image.contiguous()
