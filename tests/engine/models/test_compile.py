"""torch.compile of a loaded checkpoint: the mode registry, CPU refusal, and compiling once
(the second prompt of the same shape reuses the graphs, LoRA patches included).

CPU tests use the "eager" dynamo backend: dynamo traces and counts graphs exactly as with
inductor, without needing a C++ toolchain or minutes of codegen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from engine.models.cache import ModelCache
from engine.models.compile import compile_checkpoint, validate_compile_mode
from engine.sampling.ksampler import SampleRequest, sample
from engine.sampling.noise import prepare_noise


def test_unknown_compile_mode_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown compile='turbo'; valid: off, default, reduce"):
        validate_compile_mode("turbo", "cuda")


@pytest.mark.parametrize("mode", ["default", "reduce-overhead", "max-autotune"])
def test_compile_on_cpu_is_refused_naming_what_to_set(mode: str) -> None:
    with pytest.raises(ValueError, match=f"compile='{mode}' needs a CUDA GPU") as info:
        validate_compile_mode(mode, "cpu")
    assert "DGXP_ENGINE_COMPILE=off" in str(info.value)


def test_compile_off_is_accepted_on_cpu_and_compiles_nothing(tiny_sdxl_checkpoint: Path) -> None:
    cache = ModelCache("cpu", compile_mode="off")
    ckpt = cache.checkpoint(tiny_sdxl_checkpoint)
    assert ckpt.compile_mode == "off"
    assert "forward" not in vars(ckpt.unet)  # the class's plain forward


def test_model_cache_refuses_compile_on_cpu() -> None:
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        ModelCache("cpu", compile_mode="default")


def _dynamo_compiles() -> int:
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def _prompt(cache: ModelCache, path: Path, lora: Path, seed: int) -> torch.Tensor:
    loaded = cache.load(path)
    model, _ = loaded.model.with_lora(cache.lora(lora), 1.0)
    context, pooled = loaded.clip.encode("a red potion", "a red potion")
    cond: list[list[Any]] = [[context, {"pooled_output": pooled}]]
    latent = torch.zeros(1, 4, 8, 8)
    request = SampleRequest(steps=2, cfg=7.0, sampler_name="euler", scheduler="normal", seed=seed)
    with model.patched():
        out = sample(model, prepare_noise(latent, seed), cond, cond, latent, request)
    return loaded.vae.decode(out)


def test_compiled_checkpoint_is_reused_by_the_next_prompt_of_the_same_shape(
    tiny_sdxl_checkpoint: Path, tiny_lora: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import torch._dynamo

    torch._dynamo.reset()
    cache = ModelCache("cpu")
    ckpt = cache.checkpoint(tiny_sdxl_checkpoint)
    compile_checkpoint(ckpt, "default", backend="eager")
    compiled_forward = ckpt.unet.forward
    compile_checkpoint(ckpt, "default", backend="eager")  # idempotent: the same wrapper stays
    assert ckpt.unet.forward is compiled_forward
    assert ckpt.compile_mode == "default"
    start = _dynamo_compiles()
    first = _prompt(cache, tiny_sdxl_checkpoint, tiny_lora, seed=1)
    after_first = _dynamo_compiles()
    assert after_first > start
    second = _prompt(cache, tiny_sdxl_checkpoint, tiny_lora, seed=2)
    assert _dynamo_compiles() == after_first, "same shape, new seed: nothing recompiled"
    assert not torch.equal(first, second)
    slow = [r.message for r in caplog.records if "this prompt is slow" in r.message]
    assert len(slow) == 2  # once for the UNet's shape, once for the VAE decoder's


def test_a_second_compile_mode_on_a_compiled_checkpoint_is_refused(
    tiny_sdxl_checkpoint: Path,
) -> None:
    cache = ModelCache("cpu")
    ckpt = cache.checkpoint(tiny_sdxl_checkpoint)
    compile_checkpoint(ckpt, "default", backend="eager")
    with pytest.raises(ValueError, match="already compiled with mode 'default'; reload it"):
        compile_checkpoint(ckpt, "max-autotune", backend="eager")
