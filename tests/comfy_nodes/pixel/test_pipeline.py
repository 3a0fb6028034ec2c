"""pixelize / pixelize_batch end to end on tiny seeded pseudo pixel art."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pixel_grid_helpers import COLORS, degrade, sprite, upscale

from comfy_nodes.pixel.errors import GridDoesNotFitError, InvalidImageError, InvalidParameterError
from comfy_nodes.pixel.grid import grid_from_size
from comfy_nodes.pixel.palette import Palette
from comfy_nodes.pixel.pipeline import (
    PixelizeOptions,
    options_from_widgets,
    parse_size,
    pixelize,
    pixelize_batch,
)

LOCKED = Palette(name="test", colors=COLORS)


def test_locked_palette_recovers_the_sprite_exactly() -> None:
    truth = sprite(16, 16, seed=21)
    img = degrade(upscale(truth, 9.5, offset=(4.0, 1.0)), seed=21, noise=4.0, jpeg=85)
    result = pixelize(img, PixelizeOptions(palette=LOCKED, remove_background="none"))
    np.testing.assert_array_equal(result.sprite, truth)
    assert result.report.pixel_perfect and result.report.palette_conformance == 1.0
    assert (result.grid.cols, result.grid.rows) == (16, 16)


def test_auto_palette_finds_the_true_colours() -> None:
    truth = sprite(16, 16, seed=22, n=6)
    img = degrade(upscale(truth, 8.25, offset=(2.0, 2.0)), seed=22)
    result = pixelize(img, PixelizeOptions(n_colors=6, remove_background="none"))
    assert result.sprite.shape == (16, 16, 4)
    assert np.abs(result.sprite[..., :3].astype(int) - truth[..., :3]).max() <= 24
    assert result.report.colors <= 6


def test_transparent_sprite_on_a_plain_background_gets_hard_alpha() -> None:
    truth = sprite(16, 16, seed=23)
    truth[:3] = 0
    truth[:, :3] = 0
    on_bg = truth.copy()
    on_bg[truth[..., 3] == 0] = (255, 255, 255, 255)
    img = degrade(upscale(on_bg, 8.0, offset=(3.0, 3.0)), seed=23)
    result = pixelize(img, PixelizeOptions(palette=LOCKED, remove_background="auto"))
    np.testing.assert_array_equal(result.sprite[..., 3] > 0, truth[..., 3] > 0)
    assert (result.sprite[truth[..., 3] == 0] == 0).all()


def test_batch_shares_one_palette_and_grid() -> None:
    frames = [
        degrade(upscale(sprite(12, 12, seed=s), 7.0, offset=(2.0, 2.0)), seed=s) for s in (1, 2, 3)
    ]
    batch = pixelize_batch(frames, PixelizeOptions(n_colors=8, remove_background="none"))
    assert len({r.grid for r in batch.results}) == 1
    assert all(r.palette is batch.palette for r in batch.results)
    assert len(json.loads(batch.report_json())) == 3


def test_given_grid_skips_detection() -> None:
    img = upscale(sprite(4, 4, seed=24), 5.0)
    result = pixelize(img, PixelizeOptions(grid=grid_from_size(20, 20, 4, 4), palette=LOCKED))
    assert result.sprite.shape == (4, 4, 4)


def test_size_prior_sets_the_output_size() -> None:
    img = degrade(upscale(sprite(10, 10, seed=25), 6.4), seed=25)
    result = pixelize(img, PixelizeOptions(size=(10, 10), remove_background="none"))
    assert result.sprite.shape[:2] == (10, 10)


def test_a_size_that_does_not_fit_names_it() -> None:
    with pytest.raises(GridDoesNotFitError, match="64x64"):
        pixelize(np.zeros((32, 32, 3), np.uint8), PixelizeOptions(size=(64, 64)))


@pytest.mark.parametrize("shape", [(0, 0, 3), (5, 5), (4, 4, 2)])
def test_bad_images_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(InvalidImageError, match=r"images\[0\]"):
        pixelize(np.zeros(shape, np.uint8))


def test_one_pixel_image_comes_back_as_a_one_pixel_sprite() -> None:
    result = pixelize(np.full((1, 1, 3), 99, np.uint8), PixelizeOptions(remove_background="none"))
    assert result.sprite.shape == (1, 1, 4) and result.sprite[0, 0, 3] == 255


def test_over_the_size_limit_is_refused_with_the_limit() -> None:
    big = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (8193, 4, 3))
    with pytest.raises(InvalidImageError, match="8192x8192"):
        pixelize(np.asarray(big))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (PixelizeOptions(n_colors=1), "colors=1"),
        (PixelizeOptions(n_colors=300), "colors=300"),
        (PixelizeOptions(dither="sparkle"), "floyd-steinberg"),
        (PixelizeOptions(remove_background="magic"), "auto, border, key, none"),
        (PixelizeOptions(downscale_mode="lanczos"), "robust, median, mean, center"),
    ],
)
def test_bad_options_name_the_argument(options: PixelizeOptions, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        pixelize(np.zeros((16, 16, 3), np.uint8), options)


def test_empty_batch_is_refused() -> None:
    with pytest.raises(InvalidImageError, match="at least one"):
        pixelize_batch([], PixelizeOptions())


@pytest.mark.parametrize(
    ("text", "size"), [("auto", None), ("", None), ("32x16", (32, 16)), ("24", (24, 24))]
)
def test_parse_size(text: str, size: tuple[int, int] | None) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["big", "0x4", "3x4x5", "-2x2"])
def test_parse_size_rejects_nonsense(text: str) -> None:
    with pytest.raises(InvalidParameterError, match="sprite_size"):
        parse_size(text)


def test_widgets_map_to_options() -> None:
    opts = options_from_widgets(
        sprite_size="32x32", palette="pico-8", colors=8, key_color="#ff00ff"
    )
    assert opts.size == (32, 32) and opts.palette is not None and opts.palette.name == "pico-8"
    assert opts.key_color == (255, 0, 255)


def test_frames_of_different_sizes_get_their_own_grids_and_one_palette() -> None:
    a = degrade(upscale(sprite(12, 12, seed=26), 7.0), seed=26)
    b = degrade(upscale(sprite(16, 10, seed=27), 6.5), seed=27)
    batch = pixelize_batch([a, b], PixelizeOptions(n_colors=8, remove_background="none"))
    assert [r.sprite.shape[:2] for r in batch.results] == [(12, 12), (10, 16)]
    assert batch.results[0].palette is batch.results[1].palette


def test_unknown_grid_sharing_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="grid_sharing"):
        pixelize_batch([np.zeros((16, 16, 3), np.uint8)], PixelizeOptions(grid_sharing="all"))  # type: ignore[arg-type]


def test_key_colour_background_through_the_pipeline() -> None:
    truth = sprite(8, 8, seed=28)
    truth[0, :, :3] = (255, 0, 255)
    result = pixelize(
        upscale(truth, 5.0),
        PixelizeOptions(palette=LOCKED, remove_background="key", key_color=(255, 0, 255)),
    )
    assert (result.sprite[0, :, 3] == 0).all() and (result.sprite[1:, :, 3] == 255).all()
