"""Every SDXL-family UNet layout ComfyUI detects loads and renders; what cannot is refused
naming the feature.

The expected ComfyUI figures are written out from ComfyUI's own table
(`comfy/model_detection.py: unet_config_from_diffusers_unet`, SSD_1B / Segmind_Vega /
KOALA_700M / KOALA_1B / SDXL), not derived from our reader.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from fixtures.tiny_sdxl import COMFY_LAYOUT_SPECS, TINY_SPEC, tiny_layout_spec, write_tiny_lora
from safetensors.torch import load_file

from engine.context import EngineContext, EnginePaths, bind_engine_context
from engine.errors import ModelLoadError
from engine.models.architecture import infer_architecture
from engine.models.cache import ModelCache
from engine.models.checkpoint import load_checkpoint
from engine.models.lora import load_lora
from engine.models.synthetic import build_shapes, write_checkpoint
from engine.nodes.sdxl import NODE_CLASS_MAPPINGS

NODES: dict[str, Any] = dict(NODE_CLASS_MAPPINGS)

# (class, num_res_blocks, transformer_depth, transformer_depth_output, middle) per ComfyUI.
COMFY_TABLE = {
    "SDXL": ("SDXL", 2, [0, 0, 2, 2, 10, 10], [0, 0, 0, 2, 2, 2, 10, 10, 10], 10),
    "SSD1B": ("SSD1B", 2, [0, 0, 2, 2, 4, 4], [0, 0, 0, 1, 1, 2, 10, 4, 4], -1),
    "Segmind_Vega": ("Segmind_Vega", 2, [0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1, 2, 2, 2], -1),
    "KOALA_700M": ("KOALA_700M", 1, [0, 2, 5], [0, 0, 2, 2, 5, 5], -2),
    "KOALA_1B": ("KOALA_1B", 1, [0, 2, 6], [0, 0, 2, 2, 6, 6], 6),
    "SDXL_middle_4": ("SDXL", 2, [0, 0, 2, 2, 10, 10], [0, 0, 0, 2, 2, 2, 10, 10, 10], 4),
}
# Middle transformer blocks the built diffusers UNet must hold (None: no cross-attn middle).
MIDDLE_BLOCKS = {
    "SDXL": 10,
    "SSD1B": None,
    "Segmind_Vega": None,
    "KOALA_700M": None,
    "KOALA_1B": 6,
    "SDXL_middle_4": 4,
}

# The plain SDXL layout renders in the other engine tests; these are the ones it adds.
NEW_LAYOUTS = [name for name in COMFY_TABLE if name != "SDXL"]


@pytest.mark.parametrize("layout", list(COMFY_TABLE))
def test_full_size_layout_reads_as_comfyui_detects_it(layout: str) -> None:
    unet = infer_architecture(build_shapes(COMFY_LAYOUT_SPECS[layout]), f"{layout}.sft").unet
    comfy = unet.comfy_config()
    name, n_res, depth, depth_out, middle = COMFY_TABLE[layout]
    assert unet.comfy_layout == name
    assert comfy["num_res_blocks"] == [n_res] * 3
    assert comfy["transformer_depth"] == depth
    assert comfy["transformer_depth_output"] == depth_out
    assert comfy["transformer_depth_middle"] == middle
    assert (comfy["model_channels"], comfy["context_dim"], comfy["adm_in_channels"]) == (
        320,
        2048,
        2816,
    )


def test_ssd1b_diffusers_config_holds_its_uneven_output_levels() -> None:
    unet = infer_architecture(build_shapes(COMFY_LAYOUT_SPECS["SSD1B"]), "ssd-1b.safetensors").unet
    cfg = unet.diffusers_config()
    assert cfg["transformer_layers_per_block"] == [1, 2, 4]
    assert cfg["reverse_transformer_layers_per_block"] == [[4, 4, 10], [2, 1, 1], [1, 1, 1]]
    assert cfg["mid_block_type"] == "UNetMidBlock2D"


def _middle_transformer_blocks(unet: torch.nn.Module) -> int | None:
    mid = getattr(unet, "mid_block", None)
    if mid is None or not getattr(mid, "has_cross_attention", False):
        return None
    return len(mid.attentions[0].transformer_blocks)


@pytest.fixture(scope="module")
def layout_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("layouts")
    for layout in NEW_LAYOUTS:
        write_checkpoint(models / "checkpoints" / f"{layout}.safetensors", tiny_layout_spec(layout))
    return models


def _check_tensors_in_place(ckpt: Any, path: Path, layout: str) -> None:
    raw = load_file(str(path))
    assert _middle_transformer_blocks(ckpt.unet) == MIDDLE_BLOCKS[layout]
    # The deepest output level's first block: SSD-1B's 4-deep transformer, KOALA's 5/6.
    first = "model.diffusion_model.output_blocks.0.1.transformer_blocks.0.attn2.to_k.weight"
    got = ckpt.unet.up_blocks[0].attentions[0].transformer_blocks[0].attn2.to_k.weight
    assert torch.equal(raw[first].float(), got)
    depths = [len(a.transformer_blocks) for a in ckpt.unet.up_blocks[0].attentions]
    assert depths == list(tiny_layout_spec(layout).output_depths(2))
    middle = "model.diffusion_model.middle_block.0.in_layers.2.weight"
    if middle in raw:
        assert torch.equal(raw[middle].float(), ckpt.unet.mid_block.resnets[0].conv1.weight)
    else:
        assert ckpt.unet.mid_block is None


@pytest.mark.parametrize("layout", NEW_LAYOUTS)
def test_tiny_layout_loads_in_place_takes_loras_and_renders(
    layout_models: Path, layout: str
) -> None:
    base = layout_models.parent / f"run-{layout}"
    paths = EnginePaths(
        models=layout_models, input=base / "in", output=base / "out", temp=base / "tmp"
    )
    with bind_engine_context(EngineContext(paths=paths, models=ModelCache(device="cpu"))):
        model, clip, vae = NODES["CheckpointLoaderSimple"]().load_checkpoint(
            f"{layout}.safetensors"
        )
        _check_tensors_in_place(model.checkpoint, model.checkpoint.path, layout)
        for naming in ("sgm", "diffusers"):  # kohya LoRAs name modules either way
            lora = write_tiny_lora(
                base / f"{naming}.safetensors", naming, tiny_layout_spec(layout), alpha=None
            )
            lora_model, misses = model.with_lora(load_lora(lora), 0.5)
            assert [k for k in misses if not k.startswith("lora_te")] == [], naming
        model = lora_model
        positive = NODES["CLIPTextEncode"]().encode(clip, "a red potion, pixel art")[0]
        negative = NODES["CLIPTextEncode"]().encode(clip, "blurry")[0]
        latent = NODES["EmptyLatentImage"]().generate(64, 64, 1)[0]
        out = NODES["KSampler"]().sample(
            model, 7, 2, 5.0, "euler", "normal", positive, negative, latent, 1.0
        )[0]
        image = NODES["VAEDecode"]().decode(vae, out)[0]
    assert image.shape == (1, 64, 64, 3)
    assert bool(torch.isfinite(image).all()) and float(image.std()) > 0


def test_a_level_mixing_attention_and_none_is_refused_naming_it(tmp_path: Path) -> None:
    spec = replace(TINY_SPEC, transformer_depth_output=((0, 0, 0), (1, 0, 1), (2, 2, 2)))
    path = write_checkpoint(tmp_path / "mixed.safetensors", spec)
    with pytest.raises(ModelLoadError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "mixed.safetensors" in message
    assert "level 1's output blocks mix res blocks with and without a transformer" in message
    assert "[1, 0, 1]" in message


def _tiny_shapes() -> dict[str, tuple[int, ...]]:
    return build_shapes(TINY_SPEC)


def test_levels_with_different_res_block_counts_are_refused_naming_the_counts() -> None:
    shapes = {k: s for k, s in _tiny_shapes().items() if ".input_blocks.2." not in k}
    with pytest.raises(ModelLoadError, match=r"the number of res blocks differs between levels"):
        infer_architecture(shapes, "pruned.safetensors")


@pytest.mark.parametrize(
    ("channels", "named"), [(9, "an inpainting model"), (8, "an instruct-pix2pix model")]
)
def test_image_conditioned_unets_are_refused_naming_the_input_channels(
    channels: int, named: str
) -> None:
    shapes = _tiny_shapes()
    shapes["model.diffusion_model.input_blocks.0.0.weight"] = (32, channels, 3, 3)
    with pytest.raises(ModelLoadError, match=rf"{channels} input channels \({named}\)"):
        infer_architecture(shapes, "inpaint.safetensors")


def test_the_refiner_layout_is_refused_by_name() -> None:
    shapes = {
        k.replace("conditioner.embedders.1.", "conditioner.embedders.0."): s
        for k, s in _tiny_shapes().items()
        if not k.startswith("conditioner.embedders.0.")
    }
    with pytest.raises(ModelLoadError, match=r"refiner.safetensors: an SDXL refiner checkpoint"):
        infer_architecture(shapes, "refiner.safetensors")


def test_an_empty_middle_transformer_is_refused_naming_it() -> None:
    shapes = {
        k: s
        for k, s in _tiny_shapes().items()
        if not k.startswith("model.diffusion_model.middle_block.1.transformer_blocks.")
    }
    with pytest.raises(ModelLoadError, match=r"middle block has a transformer with no"):
        infer_architecture(shapes, "odd.safetensors")
