"""`training.dataset`: sprites to 1 px per cell, into SDXL buckets, captioned, all or nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.dataset import DatasetOptions, prepare_dataset
from training.errors import DatasetError

KEY = (255, 0, 255)


def sprite(seed: int, cells: tuple[int, int] = (16, 16)) -> np.ndarray:
    """A seeded 4-colour sprite on a transparent background, 1 px per cell."""
    rng = np.random.default_rng(seed)
    palette = np.array([[20, 20, 40], [200, 60, 60], [240, 200, 80], [60, 160, 90]], np.uint8)
    w, h = cells
    rgba = np.zeros((h, w, 4), np.uint8)
    body = palette[rng.integers(0, 4, size=(h - 4, w - 4))]
    rgba[2:-2, 2:-2, :3] = body
    rgba[2:-2, 2:-2, 3] = 255
    return rgba


def save(path: Path, rgba: np.ndarray, scale: int = 4) -> Path:
    big = np.repeat(np.repeat(rgba, scale, axis=0), scale, axis=1)
    Image.fromarray(big).save(path)
    return path


def folder(tmp_path: Path, count: int = 5) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(count):
        save(src / f"s{i}.png", sprite(i))
    return src


def test_sprites_come_back_at_their_cells_enlarged_whole_into_a_bucket(tmp_path: Path) -> None:
    src = folder(tmp_path)
    (src / "s0.txt").write_text("a knight  with a sword\n")
    result = prepare_dataset(src, tmp_path / "ds", DatasetOptions("pxlknight"))
    assert [i.name for i in result.images] == [f"s{i}.png" for i in range(5)]
    first = result.images[0]
    assert (first.original_size, first.sprite_size, first.cell_size) == ((64, 64), (16, 16), 4.0)
    assert (first.factor, first.bucket) == (64, (1024, 1024))
    with Image.open(result.out / "s0.png") as png:
        assert png.mode == "RGB" and png.size == (1024, 1024)
        pixels = np.asarray(png)
    # every 64x64 block is one source cell; transparent cells are the key colour
    expected = sprite(0)
    alpha = expected[..., 3:4] / 255
    flat = (expected[..., :3] * alpha + np.array(KEY) * (1 - alpha)).astype(np.uint8)
    assert np.array_equal(pixels[::64, ::64], flat)
    assert np.array_equal(pixels, np.repeat(np.repeat(flat, 64, axis=0), 64, axis=1))
    assert (result.out / "s0.txt").read_text() == (
        "pxlknight, a knight with a sword, 4 colors, 16x16 sprite, transparent background"
    )
    assert result.warnings == []


def test_manifest_records_hashes_sizes_factors_and_captions(tmp_path: Path) -> None:
    result = prepare_dataset(folder(tmp_path), tmp_path / "ds", DatasetOptions("pxl"))
    manifest = json.loads(result.manifest.read_text())
    assert manifest["trigger"] == "pxl" and manifest["key_color"] == "#FF00FF"
    entry = manifest["images"][2]
    import hashlib

    digest = hashlib.sha256((tmp_path / "src" / "s2.png").read_bytes()).hexdigest()
    assert entry["sha256"] == digest
    assert entry["original_size"] == [64, 64] and entry["sprite_size"] == [16, 16]
    assert entry["factor"] == 64 and entry["caption"] == (tmp_path / "ds" / "s2.txt").read_text()


def test_mask_mode_writes_the_alpha_beside_and_csv_captions_replace_sidecars(
    tmp_path: Path,
) -> None:
    src = folder(tmp_path)
    (src / "s1.txt").write_text("ignored when a CSV is given")
    table = tmp_path / "captions.csv"
    with table.open("w", newline="") as stream:
        csv.writer(stream).writerows([["file", "caption"], ["s1.png", "a mage, blue robe"]])
    options = DatasetOptions("pxl", alpha="mask", captions_csv=table, auto_tags=False)
    result = prepare_dataset(src, tmp_path / "ds", options)
    assert (result.out / "s1.txt").read_text() == "pxl, a mage, blue robe"
    assert (result.out / "s0.txt").read_text() == "pxl"
    with Image.open(result.out / "masks" / "s1.png") as mask:
        assert mask.mode == "L"
        assert np.array_equal(
            np.asarray(mask)[::64, ::64], sprite(1)[..., 3]
        )  # opaque exactly where the sprite is


def test_gif_first_frame_duplicates_and_jpeg_are_warned_about(tmp_path: Path) -> None:
    src = folder(tmp_path)
    frames = [Image.fromarray(np.repeat(np.repeat(sprite(s)[..., :3], 4, 0), 4, 1)) for s in (7, 8)]
    frames[0].save(src / "walk.gif", save_all=True, append_images=frames[1:])
    (src / "copy.png").write_bytes((src / "s3.png").read_bytes())
    Image.fromarray(sprite(9)[..., :3]).save(src / "photo.jpg")
    result = prepare_dataset(src, tmp_path / "ds", DatasetOptions("pxl"))
    assert len(result.images) == 6  # copy, s0..s4 but s3, walk; photo.jpg skipped
    text = "\n".join(result.warnings)
    assert "walk.gif: 2 frames; only the first is used" in text
    assert "s3.png: duplicate of copy.png; kept once" in text  # name order: copy.png first
    assert "photo.jpg: skipped" in text


def test_mixed_sizes_and_non_pixel_art_are_warned_about(tmp_path: Path) -> None:
    src = folder(tmp_path)
    save(src / "big.png", sprite(11, (32, 24)), scale=3)
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    Image.fromarray(noise).save(src / "noise.png")
    result = prepare_dataset(src, tmp_path / "ds", DatasetOptions("pxl"))
    big = next(i for i in result.images if i.name == "big.png")
    assert (big.sprite_size, big.bucket, big.factor) == ((32, 24), (1152, 896), 36)
    text = "\n".join(result.warnings)
    assert "mixed sprite sizes: 16x16 (5), " in text
    assert "noise.png: no pixel grid and many colours" in text


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (DatasetOptions("pxl", min_images=6), "SRC"),
        (DatasetOptions("two words"), "trigger"),
        (DatasetOptions("pxl", key_color="magenta"), "key_color"),
        (DatasetOptions("pxl", min_images=0), "min_images"),
    ],
)
def test_bad_options_and_too_few_images_write_nothing(
    tmp_path: Path, options: DatasetOptions, field: str
) -> None:
    src = folder(tmp_path)
    with pytest.raises(DatasetError, match=rf"^{field}=") as caught:
        prepare_dataset(src, tmp_path / "ds", options)
    assert caught.value.field == field
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_a_corrupt_file_is_named_and_nothing_is_half_written(tmp_path: Path) -> None:
    src = folder(tmp_path, 6)
    good = (src / "s5.png").read_bytes()
    (src / "s5.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError, match=r"s5\.png.*unreadable image") as caught:
        prepare_dataset(src, tmp_path / "ds", DatasetOptions("pxl"))
    assert caught.value.field == str(src / "s5.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_a_tiny_sprite_is_refused_by_name(tmp_path: Path) -> None:
    src = folder(tmp_path)
    save(src / "dot.png", sprite(3, (4, 4)), scale=1)
    with pytest.raises(DatasetError, match=r"^dot\.png='4x4'.*smaller than 8"):
        prepare_dataset(src, tmp_path / "ds", DatasetOptions("pxl"))


def test_an_existing_dataset_is_never_overwritten(tmp_path: Path) -> None:
    src = folder(tmp_path)
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match=r"^out=.*not empty"):
        prepare_dataset(src, out, DatasetOptions("pxl"))
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare_dataset(src, empty, DatasetOptions("pxl")).out == empty
