"""kohya LoRAs: both naming schemes map every key; strengths patch weights ComfyUI's way."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from fixtures.tiny_sdxl import write_tiny_lora
from safetensors.torch import save_file

from engine.errors import ModelLoadError
from engine.models.checkpoint import LoadedCheckpoint, load_checkpoint
from engine.models.lora import (
    LoraModule,
    LoraPatch,
    applied,
    clip_key_map,
    load_lora,
    match_lora,
    unet_key_map,
)
from engine.models.sdxl import SDXLModel
from engine.sampling.discrete import DiscreteSchedule

Q = "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q"


@pytest.fixture(scope="module")
def ckpt(tiny_sdxl_checkpoint: Path) -> LoadedCheckpoint:
    return load_checkpoint(tiny_sdxl_checkpoint)


def _maps(ckpt: LoadedCheckpoint) -> dict[str, dict[str, str]]:
    return {
        "unet": unet_key_map(ckpt.unet, ckpt.unet_names),
        "te1": clip_key_map(ckpt.text_encoder_l, "lora_te1_"),
        "te2": clip_key_map(ckpt.text_encoder_g, "lora_te2_"),
    }


@pytest.mark.parametrize("naming", ["sgm", "diffusers"])
def test_every_key_of_both_namings_maps(
    ckpt: LoadedCheckpoint, tmp_path: Path, naming: str
) -> None:
    lora = load_lora(write_tiny_lora(tmp_path / f"{naming}.safetensors", naming=naming))
    matched, unmatched = match_lora([LoraPatch(lora, 1.0)], _maps(ckpt))
    assert unmatched == []
    assert sum(len(v) for v in matched.values()) == len(lora.modules)
    assert len(matched["te1"]) == 4 and len(matched["te2"]) == 4


def test_sgm_name_points_at_the_converted_module(ckpt: LoadedCheckpoint) -> None:
    keys = unet_key_map(ckpt.unet, ckpt.unet_names)
    assert keys["lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"] == Q
    assert keys["lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"] == Q
    assert keys["lora_unet_middle_block_1_proj_in"] == "mid_block.attentions.0.proj_in"


def test_strength_zero_keeps_base_weights_and_one_changes_then_restores(
    ckpt: LoadedCheckpoint, tiny_lora: Path
) -> None:
    lora = load_lora(tiny_lora)
    base = SDXLModel(ckpt, DiscreteSchedule())
    before = ckpt.unet.get_submodule(Q).weight.detach().clone()
    zero, _ = base.with_lora(lora, 0.0)
    with zero.patched():
        assert torch.equal(ckpt.unet.get_submodule(Q).weight, before)
    one, _ = base.with_lora(lora, 1.0)
    with one.patched():
        patched = ckpt.unet.get_submodule(Q).weight.detach().clone()
    module = lora.modules["lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"]
    expected = before + 0.5 * (module.up.float() @ module.down.float())  # alpha 2 / rank 4
    assert torch.allclose(patched, expected, atol=1e-6)
    assert torch.equal(ckpt.unet.get_submodule(Q).weight, before)  # the cached base is pristine


def test_missing_alpha_means_scale_one(tmp_path: Path) -> None:
    lora = load_lora(
        write_tiny_lora(tmp_path / "noalpha.safetensors", alpha=None, with_text_encoders=False)
    )
    assert all(m.alpha is None and m.scale == 1.0 for m in lora.modules.values())


def test_conv_1x1_and_3x3_updates_take_the_weight_shape() -> None:
    conv = torch.nn.Conv2d(6, 8, 1)
    update = LoraModule(down=torch.ones(2, 6, 1, 1), up=torch.ones(8, 2, 1, 1), alpha=1.0)
    before = conv.weight.detach().clone()
    from engine.models.lora import WeightPatch

    with applied(torch.nn.Sequential(conv), [WeightPatch("0", update, 2.0)]):
        assert torch.allclose(conv.weight, before + 2.0 * 0.5 * 2.0)
    assert torch.equal(conv.weight, before)
    big = LoraModule(down=torch.ones(2, 6, 3, 3), up=torch.ones(8, 2, 1, 1), alpha=None)
    assert big.delta(torch.Size([8, 6, 3, 3]), 1.0).shape == (8, 6, 3, 3)


def test_unmatched_keys_are_counted_not_fatal(ckpt: LoadedCheckpoint, tmp_path: Path) -> None:
    path = tmp_path / "odd.safetensors"
    save_file(
        {
            "lora_unet_no_such_block.lora_down.weight": torch.zeros(2, 4),
            "lora_unet_no_such_block.lora_up.weight": torch.zeros(4, 2),
        },
        str(path),
    )
    _, unmatched = SDXLModel(ckpt, DiscreteSchedule()).with_lora(load_lora(path), 1.0)
    assert unmatched == ["lora_unet_no_such_block"]


def test_file_without_lora_pairs_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "peft.safetensors"
    save_file({"unet.down_blocks.1.attn1.to_q.lora_A.weight": torch.zeros(2, 4)}, str(path))
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(ModelLoadError, match=r"peft\.safetensors.*kohya"),
    ):
        load_lora(path)
    assert "lora key not loaded" in caplog.text


def test_corrupt_lora_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x00" * 4)
    with pytest.raises(ModelLoadError, match=r"bad\.safetensors"):
        load_lora(path)


def test_update_of_the_wrong_shape_is_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from engine.models.lora import WeightPatch

    first, second = torch.nn.Linear(4, 6), torch.nn.Linear(6, 6)
    net = torch.nn.Sequential(first, second)
    before = [first.weight.detach().clone(), second.weight.detach().clone()]
    wrong = LoraModule(
        down=torch.ones(2, 8), up=torch.ones(6, 2), alpha=None
    )  # an SD1.5-sized update
    right = LoraModule(down=torch.ones(2, 6), up=torch.ones(6, 2), alpha=None)
    with (
        caplog.at_level(logging.WARNING),
        applied(net, [WeightPatch("0", wrong, 1.0), WeightPatch("1", right, 1.0)]),
    ):
        assert torch.equal(first.weight, before[0])
        assert torch.allclose(second.weight, before[1] + 2.0)
    assert "does not fit" in caplog.text
    assert torch.equal(second.weight, before[1])
