"""The speed levers on a real GPU: a CUDA-graph replay computes what the eager UNet computes
(LoRA patches in place included), a forced SDPA backend runs or fails loudly, and fp8 is
refused on a GPU without it. Run with `pytest -m gpu tests/engine/gpu` (bench/gpu_check.sh)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from engine.models.cache import ModelCache
from engine.models.speed import FP8_MIN_CAPABILITY, CudaGraphForward, SpeedOptions, sdpa_backend

pytestmark = pytest.mark.gpu


def _call(fn: object, unet: Any, seed: int, batch: int = 2) -> torch.Tensor:
    """One UNet call on fresh random inputs shaped from the UNet's own config."""
    cfg = unet.config
    pooled = cfg.projection_class_embeddings_input_dim - 6 * cfg.addition_time_embed_dim
    gen = torch.Generator().manual_seed(seed)
    device = next(unet.parameters()).device

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen).to(device)

    x, t = rand(batch, cfg.in_channels, 8, 8), rand(batch).abs() * 999
    added = {"text_embeds": rand(batch, pooled), "time_ids": rand(batch, 6)}
    with torch.no_grad():
        out = fn(  # type: ignore[operator]
            x,
            t,
            encoder_hidden_states=rand(batch, 77, cfg.cross_attention_dim),
            added_cond_kwargs=added,
        )
    return out.sample  # type: ignore[no-any-return]


def test_cuda_graph_replay_matches_the_eager_unet_and_sees_weight_patches(
    tiny_sdxl_checkpoint: Path,
) -> None:
    ckpt = ModelCache("cuda", "fp32", speed=SpeedOptions(cuda_graphs="off")).checkpoint(
        tiny_sdxl_checkpoint
    )
    unet = ckpt.unet
    graphed = CudaGraphForward(unet.forward)
    close = {"rtol": 1e-3, "atol": 1e-3}  # TF32 convolutions may pick other algorithms
    with torch.inference_mode():  # the executor runs nodes so; a warm-up or bench may not
        first = _call(graphed, unet, 1)  # captures
    torch.testing.assert_close(first, _call(unet.forward, unet, 1), **close)
    # replays outside inference mode, with new inputs
    torch.testing.assert_close(_call(graphed, unet, 2), _call(unet.forward, unet, 2), **close)
    before = _call(graphed, unet, 3)
    with torch.no_grad():  # an in-place weight patch (what a LoRA does) reaches the replay
        unet.conv_out.weight.add_(0.5)
    after = _call(graphed, unet, 3)
    torch.testing.assert_close(after, _call(unet.forward, unet, 3), **close)
    assert (after - before).abs().max() > 0.1
    _call(graphed, unet, 4, batch=3)
    _call(graphed, unet, 5, batch=8)  # over GRAPH_MAX_BATCH: eager, nothing captured
    assert graphed.captured == 2  # one graph per input shape


def test_a_forced_sdpa_backend_runs_or_fails_loudly() -> None:
    q = torch.randn(2, 4, 256, 64, device="cuda", dtype=torch.float16)
    reference = torch.nn.functional.scaled_dot_product_attention(q, q, q)
    for backend in ("flash", "efficient", "math"):
        with sdpa_backend(backend):
            out = torch.nn.functional.scaled_dot_product_attention(q, q, q)
        torch.testing.assert_close(out, reference, atol=2e-3, rtol=2e-3)
    odd = torch.randn(1, 1, 16, 512, device="cuda", dtype=torch.float16)  # head dim > 256
    with pytest.raises(RuntimeError), sdpa_backend("flash"):
        torch.nn.functional.scaled_dot_product_attention(odd, odd, odd)


def test_fp8_is_refused_on_a_gpu_without_it() -> None:
    if torch.cuda.get_device_capability() >= FP8_MIN_CAPABILITY:
        pytest.skip("this GPU has fp8; bench/throughput.py's fp8 section measures it")
    with pytest.raises(ValueError, match=r"needs compute capability >= 8\.9"):
        ModelCache("cuda", "fp8")
