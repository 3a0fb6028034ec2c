"""Core image nodes called directly inside a bound engine context (exact pixels, tiny images)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.context import EngineContext, EnginePaths, bind_engine_context
from engine.errors import EngineError
from engine.nodes.image import (
    ImageScale,
    ImageScaleBy,
    JoinImageWithAlpha,
    LoadImage,
    PreviewImage,
    SaveImage,
)


def _read(path: Path) -> Image.Image:
    """A fully loaded copy, so no file handle stays open."""
    with Image.open(path) as image:
        image.load()
        return image.copy()


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[EngineContext]:
    paths = EnginePaths(
        models=tmp_path / "models",
        input=tmp_path / "in",
        output=tmp_path / "out",
        temp=tmp_path / "tmp",
    )
    paths.ensure()
    context = EngineContext(paths=paths)
    with bind_engine_context(context):
        yield context


def _image(pixels: list[list[list[int]]]) -> torch.Tensor:
    return torch.tensor(pixels, dtype=torch.float32)[None] / 255.0


def test_load_image_returns_rgb_and_one_minus_alpha_mask(ctx: EngineContext) -> None:
    rgba = np.array([[[255, 0, 0, 255], [0, 255, 0, 0]]], dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(ctx.paths.input / "a.png")
    image, mask = LoadImage().load_image("a.png")
    assert image.shape == (1, 1, 2, 3) and mask.shape == (1, 1, 2)
    assert (image[0, 0] * 255).round().tolist() == [[255, 0, 0], [0, 255, 0]]
    assert mask.tolist() == [[[0.0, 1.0]]]


def test_load_image_without_alpha_gives_a_64x64_zero_mask(ctx: EngineContext) -> None:
    Image.new("RGB", (3, 2), (1, 2, 3)).save(ctx.paths.input / "b.png")
    _, mask = LoadImage().load_image("b.png")
    assert mask.shape == (1, 64, 64) and float(mask.abs().sum()) == 0.0


def test_load_image_validation_accepts_subfolders_and_refuses_escapes(ctx: EngineContext) -> None:
    (ctx.paths.input / "sub").mkdir()
    Image.new("RGB", (1, 1)).save(ctx.paths.input / "sub" / "c.png")
    assert LoadImage.VALIDATE_INPUTS("sub/c.png") is True
    assert LoadImage.VALIDATE_INPUTS("../out/x.png") == "Invalid image file: ../out/x.png"
    assert LoadImage.INPUT_TYPES()["required"]["image"] == ([], {"image_upload": True})
    assert LoadImage.IS_CHANGED("sub/c.png") == LoadImage.IS_CHANGED("sub/c.png")


def test_save_image_counter_continues_and_writes_text_chunks(ctx: EngineContext) -> None:
    image = _image([[[10, 20, 30], [40, 50, 60]]])
    (ctx.paths.output / "sprites").mkdir()
    (ctx.paths.output / "sprites" / "hero_00007_.png").write_bytes(b"old")
    result = SaveImage().save_images(
        torch.cat([image, image]),
        "sprites/hero",
        prompt={"1": {}},
        extra_pnginfo={"workflow": {"v": 1}},
    )
    assert result == {
        "ui": {
            "images": [
                {"filename": "hero_00008_.png", "subfolder": "sprites", "type": "output"},
                {"filename": "hero_00009_.png", "subfolder": "sprites", "type": "output"},
            ]
        }
    }
    with Image.open(ctx.paths.output / "sprites" / "hero_00008_.png") as saved:
        assert saved.mode == "RGB" and np.asarray(saved).tolist() == [[[10, 20, 30], [40, 50, 60]]]
        assert json.loads(saved.text["prompt"]) == {"1": {}}  # type: ignore[attr-defined]
        assert json.loads(saved.text["workflow"]) == {"v": 1}  # type: ignore[attr-defined]


def test_save_image_writes_rgba_for_four_channels(ctx: EngineContext) -> None:
    SaveImage().save_images(_image([[[1, 2, 3, 4]]]), "rgba")
    assert _read(ctx.paths.output / "rgba_00001_.png").mode == "RGBA"


def test_save_image_refuses_a_prefix_outside_output(ctx: EngineContext) -> None:
    with pytest.raises(EngineError, match="outside the output folder"):
        SaveImage().save_images(_image([[[1, 2, 3]]]), "../../escape")


def test_preview_image_writes_to_temp(ctx: EngineContext) -> None:
    result = PreviewImage().save_images(_image([[[1, 2, 3]]]))
    entry = result["ui"]["images"][0]
    assert entry["type"] == "temp" and entry["subfolder"] == ""
    assert entry["filename"].startswith("ComfyUI_temp_") and entry["filename"].endswith(
        "_00001_.png"
    )
    assert (ctx.paths.temp / entry["filename"]).is_file()


def test_image_scale_nearest_exact_and_aspect_keeping(ctx: EngineContext) -> None:
    image = _image([[[0, 0, 0], [255, 255, 255]]])
    (out,) = ImageScale().upscale(image, "nearest-exact", 4, 0, "disabled")
    assert out.shape == (1, 2, 4, 3)
    assert (out[0, :, :, 0] * 255).round().tolist() == [[0, 0, 255, 255], [0, 0, 255, 255]]
    (same,) = ImageScale().upscale(image, "bilinear", 0, 0, "disabled")
    assert same is image


def test_image_scale_center_crop_and_lanczos(ctx: EngineContext) -> None:
    image = _image([[[0, 0, 0], [255, 0, 0], [255, 0, 0], [0, 0, 0]]])
    (cropped,) = ImageScale().upscale(image, "nearest-exact", 2, 1, "center")
    assert (cropped[0, 0] * 255).round().tolist() == [[255, 0, 0], [255, 0, 0]]
    (lanczos,) = ImageScaleBy().upscale(image, "lanczos", 2.0)
    assert lanczos.shape == (1, 2, 8, 3)


def test_join_image_with_alpha_inverts_the_mask(ctx: EngineContext) -> None:
    image = _image([[[10, 20, 30], [40, 50, 60]]])
    mask = torch.tensor([[[1.0, 0.0]]])
    (joined,) = JoinImageWithAlpha().join_image_with_alpha(image, mask)
    assert joined.shape == (1, 1, 2, 4)
    assert joined[0, 0, :, 3].tolist() == [0.0, 1.0]


def test_unknown_upscale_method_names_the_valid_ones(ctx: EngineContext) -> None:
    with pytest.raises(EngineError, match="nearest-exact"):
        ImageScaleBy().upscale(_image([[[1, 2, 3]]]), "magic", 2.0)
