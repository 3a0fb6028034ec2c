"""kohya LoRA files from `training.lora_io`: every key maps in the engine's real LoRA loader,
the picture changes, alpha is written as given, and malformed files are refused by key."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import torch
from fixtures.engine_http import render_png
from fixtures.sdxl_graphs import txt2img_graph
from safetensors import safe_open
from safetensors.torch import save_file

from engine.models.checkpoint import load_checkpoint
from engine.models.lora import load_lora
from engine.models.sdxl import SDXLModel
from engine.models.synthetic import SDXL_BASE_SPEC, build_shapes
from engine.runner import EngineConfig, start_engine
from engine.sampling.discrete import DiscreteSchedule
from training.errors import LoraFormatError
from training.lora_io import (
    LoraMetadata,
    LoraWeights,
    init_lora,
    kohya_unet_targets,
    read_lora,
    write_lora,
)

CKPT_PREFIX = "model.diffusion_model."


def _unet_weights(checkpoint: Path) -> dict[str, list[int]]:
    with safe_open(str(checkpoint), framework="pt") as handle:
        return {
            key[len(CKPT_PREFIX) :]: list(handle.get_slice(key).get_shape())
            for key in handle.keys()  # noqa: SIM118
            if key.startswith(CKPT_PREFIX)
        }


def _trained(checkpoint: Path, rank: int = 4, alpha: float = 2.0) -> dict[str, LoraWeights]:
    """A LoRA as if trained: kohya init, then non-zero up weights so it has an effect."""
    modules = init_lora(kohya_unet_targets(_unet_weights(checkpoint)), rank, alpha, seed=3)
    gen = torch.Generator().manual_seed(4)
    return {
        path: LoraWeights(w.down, torch.randn(w.up.shape, generator=gen) * 0.5, w.alpha)
        for path, w in modules.items()
    }


def _metadata(rank: int = 4, alpha: float = 2.0) -> LoraMetadata:
    return LoraMetadata(
        output_name="knight_style", rank=rank, alpha=alpha, steps=3000, trigger="pxknight",
        backend="test", tag_frequency={"ds": {"pxknight": 5}}, pixel_scale=32,
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained_lora(tiny_sdxl_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lora") / "knight_style.safetensors"
    return write_lora(path, _trained(tiny_sdxl_checkpoint), _metadata())


def test_target_set_is_attention_feed_forward_and_proj_of_every_transformer(
    tiny_sdxl_checkpoint: Path,
) -> None:
    targets = kohya_unet_targets(_unet_weights(tiny_sdxl_checkpoint))
    # Each spatial transformer has proj_in/proj_out and its blocks 10 linears each.
    blocks = {p.split(".transformer_blocks.")[0] for p in targets if ".transformer_blocks." in p}
    spatial = {p.rsplit(".", 1)[0] for p in targets if p.endswith((".proj_in", ".proj_out"))}
    assert blocks == spatial
    assert len(targets) == 2 * len(spatial) + 10 * sum(
        1 for p in targets if p.endswith(".attn1.to_q")
    )
    assert "input_blocks.4.1.transformer_blocks.0.attn1.to_q" in targets
    assert not any("resblock" in p or ".in_layers." in p for p in targets)


def test_every_key_maps_in_the_engine_loader_and_none_is_ignored(
    tiny_sdxl_checkpoint: Path, trained_lora: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ckpt = load_checkpoint(tiny_sdxl_checkpoint)
    with caplog.at_level(logging.WARNING):
        lora = load_lora(trained_lora)
        model, unmatched = SDXLModel(ckpt, DiscreteSchedule()).with_lora(lora, 1.0)
    assert unmatched == []
    assert "lora key not loaded" not in caplog.text
    assert len(lora.modules) == len(kohya_unet_targets(_unet_weights(tiny_sdxl_checkpoint)))
    assert all(name.startswith("lora_unet_") for name in lora.modules)
    assert model.patches  # the stack really holds it


def _render(url: str, strength: float) -> bytes:
    graph = txt2img_graph(prefix=f"s{strength}", lora=("knight_style.safetensors", strength))
    return render_png(url, graph)


def test_the_engine_renders_a_different_picture_with_the_lora(
    tmp_path: Path,
    tiny_sdxl_checkpoint: Path,
    trained_lora: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    models = tmp_path / "models"
    (models / "checkpoints").mkdir(parents=True)
    (models / "loras").mkdir()
    # copies: the engine refuses model links that point outside its folders
    shutil.copy(tiny_sdxl_checkpoint, models / "checkpoints" / "tiny_sdxl.safetensors")
    shutil.copy(trained_lora, models / "loras" / trained_lora.name)
    config = EngineConfig(base_dir=tmp_path / "engine", models_dir=models, port=0, device="cpu")
    with caplog.at_level(logging.WARNING), start_engine(config) as engine:
        base, styled = _render(engine.url, 0.0), _render(engine.url, 1.0)
    assert base != styled
    assert "lora key not loaded" not in caplog.text


def test_file_holds_fp16_triplets_alpha_as_given_and_kohya_metadata(trained_lora: Path) -> None:
    contents = read_lora(trained_lora)
    with safe_open(str(trained_lora), framework="pt") as handle:
        dtypes = {handle.get_tensor(k).dtype for k in handle.keys()}  # noqa: SIM118
    assert dtypes == {torch.float16}
    # alpha 2 with rank 4 (kohya's r/2 convention), not diffusers' converter's alpha = rank
    assert {(m.alpha, m.rank) for m in contents.modules.values()} == {(2.0, 4)}
    meta = contents.metadata
    assert meta["ss_network_module"] == "networks.lora"
    assert (meta["ss_network_dim"], meta["ss_network_alpha"]) == ("4", "2")
    assert meta["ss_base_model_version"] == "sdxl_base_v1-0"
    assert meta["modelspec.architecture"] == "stable-diffusion-xl-v1-base/lora"
    assert meta["dgxpixels.trigger"] == "pxknight"
    assert meta["ss_tag_frequency"] == '{"ds": {"pxknight": 5}}'


def test_a_fresh_lora_is_kohya_initialised_and_changes_nothing(tiny_sdxl_checkpoint: Path) -> None:
    modules = init_lora(kohya_unet_targets(_unet_weights(tiny_sdxl_checkpoint)), 4, 2.0)
    assert all(torch.count_nonzero(m.up) == 0 for m in modules.values())
    assert all(torch.count_nonzero(m.down) > 0 for m in modules.values())


@pytest.mark.parametrize(
    ("rank", "alpha", "field"), [(0, 2.0, "rank"), (10_000, 2.0, "rank"), (4, 0.0, "alpha")]
)
def test_out_of_range_rank_or_alpha_is_refused_by_name(
    tiny_sdxl_checkpoint: Path, rank: int, alpha: float, field: str
) -> None:
    targets = kohya_unet_targets(_unet_weights(tiny_sdxl_checkpoint))
    with pytest.raises(LoraFormatError, match=rf"^{field}=") as caught:
        init_lora(targets, rank, alpha)
    assert caught.value.field == field


def test_weights_with_the_checkpoint_prefix_are_refused() -> None:
    with pytest.raises(LoraFormatError, match=r"model\.diffusion_model\.` prefix"):
        kohya_unet_targets({"model.diffusion_model.x.attn1.to_q.bias": [4]})


@pytest.mark.parametrize(
    ("tensors", "named"),
    [
        ({"unet.down_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(2, 4)}, "key="),
        (
            {
                "lora_unet_a_to_q.lora_down.weight": torch.zeros(2, 4),
                "lora_unet_a_to_q.lora_up.weight": torch.zeros(4, 2),
            },
            "lora_unet_a_to_q=.*alpha",
        ),
        (
            {
                "lora_unet_a_to_q.lora_down.weight": torch.zeros(2, 4),
                "lora_unet_a_to_q.lora_up.weight": torch.zeros(4, 3),
                "lora_unet_a_to_q.alpha": torch.tensor(1.0),
            },
            "lora_unet_a_to_q=.*same rank",
        ),
    ],
)
def test_malformed_files_are_refused_naming_the_key(
    tmp_path: Path, tensors: dict[str, torch.Tensor], named: str
) -> None:
    path = tmp_path / "bad.safetensors"
    save_file(tensors, str(path))
    with pytest.raises(LoraFormatError, match=named):
        read_lora(path)


def test_corrupt_file_is_refused_and_an_old_file_survives_a_failed_write(
    tmp_path: Path, trained_lora: Path
) -> None:
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00" * 16)
    with pytest.raises(LoraFormatError, match="not a readable safetensors"):
        read_lora(corrupt)
    target = tmp_path / "kept.safetensors"
    target.write_bytes(trained_lora.read_bytes())
    mismatched = {"x.attn1.to_q": LoraWeights(torch.zeros(2, 4), torch.zeros(4, 3), 1.0)}
    with pytest.raises(LoraFormatError, match="same rank"):
        write_lora(target, mismatched, _metadata())
    assert target.read_bytes() == trained_lora.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.safetensors", "kept.safetensors"]


def test_the_real_sdxl_unet_gives_kohyas_722_modules_of_2_66_m_parameters_per_rank() -> None:
    # Shapes only (nothing allocated): the SDXL base 1.0 UNet's kohya target set, whose size
    # the spec works out as about 2.66 M·r parameters (r=32 ≈ 170 MB in fp16).
    shapes = {
        name[len(CKPT_PREFIX) :]: list(shape)
        for name, shape in build_shapes(SDXL_BASE_SPEC).items()
        if name.startswith(CKPT_PREFIX)
    }
    targets = kohya_unet_targets(shapes)
    assert len(targets) == 722
    assert round(sum(i + o for o, i in targets.values()) / 1e6, 2) == 2.66
    assert targets["input_blocks.4.1.transformer_blocks.0.attn1.to_q"] == (640, 640)
    assert targets["middle_block.1.transformer_blocks.9.ff.net.0.proj"] == (10240, 1280)


def _diffusers_module(key: str) -> str:
    """`unet.<path>.lora.down.weight` or diffusers' attention-processor spelling
    (`…attn1.processor.to_out_lora.up.weight`) -> the UNet module path."""
    path = key.removeprefix("unet.").rsplit(".lora", 1)[0].rsplit("_lora.", 1)[0]
    path = path.replace(".processor.to_out", ".to_out.0")
    return path.replace(".processor.", ".").removesuffix(".alpha")


def test_diffusers_kohya_converter_maps_every_module_with_our_alpha(
    tiny_sdxl_checkpoint: Path, trained_lora: Path
) -> None:
    # diffusers' own (Apache-2.0) kohya path, as `load_lora_weights` runs it (spec §2.2).
    from diffusers.loaders.lora_conversion_utils import (
        _convert_non_diffusers_lora_to_diffusers,
        _maybe_map_sgm_blocks_to_diffusers,
    )
    from safetensors.torch import load_file

    ckpt = load_checkpoint(tiny_sdxl_checkpoint)
    remap, convert = _maybe_map_sgm_blocks_to_diffusers, _convert_non_diffusers_lora_to_diffusers
    mapped = remap(load_file(str(trained_lora)), ckpt.unet.config)  # type: ignore[no-untyped-call]
    converted, alphas = convert(mapped)  # type: ignore[no-untyped-call]
    ours = kohya_unet_targets(_unet_weights(tiny_sdxl_checkpoint))
    expected = {ckpt.unet_names[path] for path in ours}
    assert {_diffusers_module(key) for key in converted} == expected
    assert expected <= set(dict(ckpt.unet.named_modules()))
    assert len(alphas) == len(ours) and set(alphas.values()) == {2.0}
