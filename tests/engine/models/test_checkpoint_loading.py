"""Single-file SDXL checkpoints: architecture inferred from shapes, bad files refused clearly."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from engine.configs import load_config
from engine.errors import ModelLoadError
from engine.models.architecture import infer_architecture
from engine.models.checkpoint import DEMO_METADATA_KEY, load_checkpoint, read_header
from engine.models.synthetic import SDXL_BASE_SPEC, SyntheticSpec, build_shapes, write_checkpoint


def test_real_sdxl_shapes_infer_the_shipped_sdxl_configs() -> None:
    arch = infer_architecture(build_shapes(SDXL_BASE_SPEC), "sd_xl_base_1.0.safetensors")
    unet = arch.unet.diffusers_config()
    shipped = {k: v for k, v in load_config("sdxl_unet").items() if not k.startswith("_")}
    assert unet == shipped
    assert (arch.clip_l.width, arch.clip_l.layers, arch.clip_l.heads, arch.clip_l.intermediate) == (
        768,
        12,
        12,
        3072,
    )
    assert (
        arch.clip_g.width,
        arch.clip_g.layers,
        arch.clip_g.heads,
        arch.clip_g.projection_dim,
    ) == (1280, 32, 20, 1280)
    assert arch.vae.diffusers_config()["block_out_channels"] == [128, 256, 512, 512]
    assert arch.vae.layers_per_block == 2


def test_tiny_checkpoint_loads_with_the_inferred_config(tiny_sdxl_checkpoint: Path) -> None:
    ckpt = load_checkpoint(tiny_sdxl_checkpoint)
    unet = ckpt.unet.config
    assert list(unet.block_out_channels) == [32, 64, 64]
    assert list(unet.down_block_types) == [
        "DownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
    ]
    assert list(unet.transformer_layers_per_block) == [1, 1, 2]
    assert (
        unet.cross_attention_dim == 64
        and unet.projection_class_embeddings_input_dim == 32 + 6 * 256
    )
    assert (
        ckpt.text_encoder_l.config.hidden_size == 32
        and ckpt.text_encoder_l.config.vocab_size == 49408
    )
    assert ckpt.text_encoder_g.config.projection_dim == 32
    assert list(ckpt.vae.config.block_out_channels) == [32, 32, 64, 64]
    assert not ckpt.is_demo


def test_loaded_weights_equal_the_file_tensors(tiny_sdxl_checkpoint: Path) -> None:
    from safetensors.torch import load_file

    raw = load_file(str(tiny_sdxl_checkpoint))
    ckpt = load_checkpoint(tiny_sdxl_checkpoint)
    sgm = raw[
        "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn1.to_q.weight"
    ].float()
    ours = ckpt.unet.down_blocks[1].attentions[0].transformer_blocks[0].attn1.to_q.weight
    assert torch.equal(sgm, ours)
    in_proj = raw[
        "conditioner.embedders.1.model.transformer.resblocks.1.attn.in_proj_weight"
    ].float()
    assert torch.equal(
        in_proj[32:64], ckpt.text_encoder_g.text_model.encoder.layers[1].self_attn.k_proj.weight
    )


def test_truncated_file_names_the_file(tiny_sdxl_checkpoint: Path, tmp_path: Path) -> None:
    broken = tmp_path / "half.safetensors"
    data = tiny_sdxl_checkpoint.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match=r"half\.safetensors.*(corrupt|truncated)"):
        load_checkpoint(broken)


def test_garbage_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.safetensors"
    bad.write_bytes(b"this is not a safetensors file at all" * 20)
    with pytest.raises(ModelLoadError, match=r"garbage\.safetensors"):
        read_header(bad)


def test_missing_file_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"not found.*models/checkpoints"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_sd15_style_file_is_not_sdxl(tmp_path: Path) -> None:
    sd15 = tmp_path / "sd15.safetensors"
    save_file(
        {
            "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(320, 4, 3, 3),
            "cond_stage_model.transformer.text_model.embeddings.position_ids": torch.zeros(8, 4),
            "first_stage_model.encoder.conv_in.weight": torch.zeros(128, 3, 3, 3),
        },
        str(sd15),
    )
    with pytest.raises(ModelLoadError, match=r"sd15\.safetensors: not an SDXL"):
        load_checkpoint(sd15)


def test_mismatched_parts_are_refused(tmp_path: Path) -> None:
    # A UNet whose cross-attention width is not CLIP-L + CLIP-G cannot be SDXL.
    shapes = build_shapes(SyntheticSpec())
    shapes = {k: ((s[0], 99) if k.endswith("attn2.to_k.weight") else s) for k, s in shapes.items()}
    with pytest.raises(ModelLoadError, match="context width 99"):
        infer_architecture(shapes, "odd.safetensors")


def test_demo_marker_warns_that_pictures_are_meaningless(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_checkpoint(
        tmp_path / "demo.safetensors", SyntheticSpec(metadata={DEMO_METADATA_KEY: "true"})
    )
    with caplog.at_level(logging.WARNING, logger="engine.models.checkpoint"):
        ckpt = load_checkpoint(path)
    assert ckpt.is_demo
    assert "meaningless" in caplog.text


def test_v_prediction_checkpoint_is_refused_not_sampled_wrongly() -> None:
    shapes = {**build_shapes(SyntheticSpec()), "v_pred": ()}
    with pytest.raises(ModelLoadError, match=r"vpred\.safetensors: a v-prediction"):
        infer_architecture(shapes, "vpred.safetensors")
