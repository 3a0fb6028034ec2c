"""The SDXL core nodes end to end on the tiny checkpoint, with the engine context bound."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from engine.context import (
    EngineContext,
    EnginePaths,
    NodeRuntime,
    bind_engine_context,
    bind_node_runtime,
)
from engine.errors import InterruptedByUser, ModelLoadError
from engine.models.cache import ModelCache
from engine.nodes.sdxl import NODE_CLASS_MAPPINGS
from engine.sampling.samplers import SAMPLERS
from engine.sampling.schedulers import SCHEDULERS

NODES: dict[str, Any] = dict(NODE_CLASS_MAPPINGS)

Models = tuple[Any, Any, Any]


@pytest.fixture(scope="module")
def context(engine_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> EngineContext:
    base = tmp_path_factory.mktemp("sdxl_nodes")
    paths = EnginePaths(
        models=engine_models_dir, input=base / "input", output=base / "output", temp=base / "temp"
    )
    return EngineContext(paths=paths, models=ModelCache(device="cpu"))


@pytest.fixture
def bound(context: EngineContext) -> Iterator[EngineContext]:
    with bind_engine_context(context):
        yield context


@pytest.fixture
def models(bound: EngineContext) -> Models:
    return NODES["CheckpointLoaderSimple"]().load_checkpoint("tiny_sdxl.safetensors")  # type: ignore[no-any-return]


def _txt2img(models: Models, seed: int = 42, size: int = 64, steps: int = 2) -> torch.Tensor:
    model, clip, vae = models
    positive = NODES["CLIPTextEncode"]().encode(clip, "a red potion, pixel art")[0]
    negative = NODES["CLIPTextEncode"]().encode(clip, "blurry")[0]
    latent = NODES["EmptyLatentImage"]().generate(size, size, 1)[0]
    sampler = NODES["KSampler"]()
    out = sampler.sample(
        model, seed, steps, 7.0, "euler", "karras", positive, negative, latent, 1.0
    )[0]
    return NODES["VAEDecode"]().decode(vae, out)[0]  # type: ignore[no-any-return]


def test_txt2img_gives_a_deterministic_image_in_range(models: Models) -> None:
    first = _txt2img(models)
    assert first.shape == (1, 64, 64, 3) and first.dtype == torch.float32
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0
    assert torch.equal(first, _txt2img(models))
    assert not torch.equal(first, _txt2img(models, seed=43))


def test_conditioning_has_comfyui_sdxl_layout(models: Models) -> None:
    ((cond, extra),) = NODES["CLIPTextEncode"]().encode(models[1], "hello")[0]
    assert cond.shape == (1, 77, 64) and extra["pooled_output"].shape == (
        1,
        32,
    )  # tiny widths 32 + 32
    ((_, sdxl),) = NODES["CLIPTextEncodeSDXL"]().encode(
        models[1], 512, 256, 0, 0, 512, 256, "g", "l"
    )[0]
    assert (sdxl["width"], sdxl["height"], sdxl["target_width"]) == (512, 256, 512)


def test_lora_strength_changes_output_and_zero_leaves_it(models: Models) -> None:
    model, clip, vae = models
    base = _txt2img(models, size=32)
    m0, c0 = NODES["LoraLoader"]().load_lora(model, clip, "tiny_lora.safetensors", 0.0, 0.0)
    assert torch.equal(_txt2img((m0, c0, vae), size=32), base)
    m1, c1 = NODES["LoraLoader"]().load_lora(model, clip, "tiny_lora.safetensors", 1.0, 1.0)
    assert not torch.equal(_txt2img((m1, c1, vae), size=32), base)
    (m_only,) = NODES["LoraLoaderModelOnly"]().load_lora_model_only(
        model, "tiny_lora.safetensors", 1.0
    )
    assert not torch.equal(_txt2img((m_only, clip, vae), size=32), base)
    assert torch.equal(_txt2img(models, size=32), base)  # the cached base model stayed pristine


def test_two_stage_advanced_sampling_equals_one_ksampler(models: Models) -> None:
    model, clip, _ = models
    pos = NODES["CLIPTextEncode"]().encode(clip, "sword")[0]
    neg = NODES["CLIPTextEncode"]().encode(clip, "")[0]
    latent = NODES["EmptyLatentImage"]().generate(32, 32, 1)[0]
    full = NODES["KSampler"]().sample(model, 5, 2, 6.0, "euler", "normal", pos, neg, latent, 1.0)[0]
    adv = NODES["KSamplerAdvanced"]()
    half = adv.sample(
        model, "enable", 5, 2, 6.0, "euler", "normal", pos, neg, latent, 0, 1, "enable"
    )[0]
    rest = adv.sample(
        model, "disable", 5, 2, 6.0, "euler", "normal", pos, neg, half, 1, 10000, "disable"
    )[0]
    assert torch.allclose(rest["samples"], full["samples"], rtol=1e-4, atol=1e-3)


def test_img2img_with_low_denoise_stays_near_the_input(models: Models) -> None:
    model, clip, vae = models
    pixels = torch.full((1, 36, 32, 3), 0.5)  # 36 is cropped to 32, as ComfyUI does
    latent = NODES["VAEEncode"]().encode(vae, pixels)[0]
    assert latent["samples"].shape == (1, 4, 4, 4)
    pos = NODES["CLIPTextEncode"]().encode(clip, "x")[0]
    out = NODES["KSampler"]().sample(model, 1, 2, 1.0, "dpmpp_2m", "simple", pos, pos, latent, 0.2)[
        0
    ]
    moved = (out["samples"] - latent["samples"]).abs().mean()
    fresh = NODES["KSampler"]().sample(
        model, 1, 2, 1.0, "dpmpp_2m", "simple", pos, pos, latent, 1.0
    )[0]
    assert moved < (fresh["samples"] - latent["samples"]).abs().mean()


def test_progress_and_interrupt_go_through_the_node_runtime(models: Models) -> None:
    seen: list[tuple[int, int]] = []
    runtime = NodeRuntime("p1", "3", report_progress=lambda v, t, _: seen.append((v, t)))
    with bind_node_runtime(runtime):
        _txt2img(models, size=16, steps=3)
    assert seen == [(1, 3), (2, 3), (3, 3)]
    stop = NodeRuntime("p2", "3", is_interrupted=lambda: True)
    with bind_node_runtime(stop), pytest.raises(InterruptedByUser):
        _txt2img(models, size=16)


def test_checkpoint_combo_is_rescanned(bound: EngineContext) -> None:
    folder = bound.paths.checkpoint_dirs[0]
    shutil.copy(folder / "tiny_sdxl.safetensors", folder / "sub_copy.safetensors")
    try:
        names = NODES["CheckpointLoaderSimple"].INPUT_TYPES()["required"]["ckpt_name"][0]
        assert names == ["sub_copy.safetensors", "tiny_sdxl.safetensors"]
    finally:
        (folder / "sub_copy.safetensors").unlink()


def test_unknown_or_escaping_names_raise_model_load_error(bound: EngineContext) -> None:
    with pytest.raises(ModelLoadError, match=r"'missing\.safetensors' not found"):
        NODES["CheckpointLoaderSimple"]().load_checkpoint("missing.safetensors")
    with pytest.raises(ModelLoadError, match="outside"):
        NODES["CheckpointLoaderSimple"]().load_checkpoint("../loras/tiny_lora.safetensors")


def test_inputs_follow_comfyui_ranges_and_defaults(bound: EngineContext) -> None:
    ks = NODES["KSampler"].INPUT_TYPES()["required"]
    assert list(ks) == [
        "model",
        "seed",
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "positive",
        "negative",
        "latent_image",
        "denoise",
    ]
    assert (
        ks["seed"][1]["max"] == 2**64 - 1
        and ks["steps"][1]["max"] == 10000
        and ks["cfg"][1]["default"] == 8.0
    )
    assert ks["sampler_name"][0] == list(SAMPLERS)  # the combos derive from the registries
    assert ks["scheduler"][0] == list(SCHEDULERS)
    empty = NODES["EmptyLatentImage"].INPUT_TYPES()["required"]
    assert empty["width"][1] == {
        **empty["width"][1],
        "default": 512,
        "min": 16,
        "max": 16384,
        "step": 8,
    }
    assert empty["batch_size"][1]["max"] == 4096
    lora = NODES["LoraLoader"].INPUT_TYPES()["required"]
    assert lora["lora_name"][0] == ["tiny_lora.safetensors"]
    assert (lora["strength_model"][1]["min"], lora["strength_model"][1]["max"]) == (-100.0, 100.0)
    assert NODES["KSamplerAdvanced"].INPUT_TYPES()["required"]["end_at_step"][1]["default"] == 10000
    assert NODES["CheckpointLoaderSimple"].RETURN_TYPES == ("MODEL", "CLIP", "VAE")


def test_model_cache_keeps_and_frees(context: EngineContext, engine_models_dir: Path) -> None:
    cache: ModelCache = context.models
    path = engine_models_dir / "checkpoints" / "tiny_sdxl.safetensors"
    first = cache.checkpoint(path)
    assert cache.checkpoint(path) is first
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # "file changed"
    reloaded = cache.checkpoint(path)
    assert reloaded is not first and cache.loaded() == [str(path.resolve())]
    cache.free()
    assert cache.loaded() == []
    assert len(cache.hasher.sha256(path)) == 64


def test_latent2rgb_previews_ride_on_progress_when_enabled(
    bound: EngineContext, models: Models
) -> None:
    from PIL import Image

    previews: list[bytes | None] = []
    runtime = NodeRuntime("p3", "3", report_progress=lambda v, t, png: previews.append(png))
    with bind_node_runtime(runtime):
        _txt2img(models, size=32)
        assert previews == [None, None]  # off by default, as ComfyUI's --preview-method none
        bound.extras["preview_method"] = "latent2rgb"
        try:
            _txt2img(models, size=32)
        finally:
            del bound.extras["preview_method"]
    png = previews[-1]
    assert png is not None and png.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(png)).size == (4, 4)  # one pixel per latent cell


def test_cache_keeps_at_most_max_loaded_checkpoints(
    engine_models_dir: Path, tmp_path: Path
) -> None:
    first = engine_models_dir / "checkpoints" / "tiny_sdxl.safetensors"
    second = tmp_path / "other.safetensors"
    shutil.copy(first, second)
    cache = ModelCache(device="cpu")  # a CPU keeps one checkpoint at a time
    cache.checkpoint(first)
    cache.checkpoint(second)
    assert cache.loaded() == [str(second.resolve())]


# 32 px is the floor for the 32-channel test/demo models (GroupNorm(32) at 1x1); real SDXL
# (320 channels) has no such floor.
@pytest.mark.parametrize("width, height", [(32, 32), (24, 40)])
def test_small_and_odd_sizes_sample_and_decode(models: Models, width: int, height: int) -> None:
    model, clip, vae = models
    cond = NODES["CLIPTextEncode"]().encode(clip, "x")[0]
    latent = NODES["EmptyLatentImage"]().generate(width, height, 1)[0]
    out = NODES["KSampler"]().sample(model, 0, 1, 1.0, "euler", "simple", cond, cond, latent, 1.0)[
        0
    ]
    assert NODES["VAEDecode"]().decode(vae, out)[0].shape == (1, height, width, 3)
