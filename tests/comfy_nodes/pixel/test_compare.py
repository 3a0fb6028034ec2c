"""Side-by-side comparison rows: layout, alignment, compositing, scale and batch pairing."""

from __future__ import annotations

import numpy as np
import pytest

from comfy_nodes.pixel.compare import auto_scale, parse_background, side_by_side, zip_batches
from comfy_nodes.pixel.errors import InvalidImageError, InvalidPaletteError, InvalidParameterError

RED = (255, 0, 0, 255)
BLUE = (0, 0, 255, 255)
CLEAR = (0, 0, 0, 0)


def _solid(height: int, width: int, color: tuple[int, int, int, int]) -> np.ndarray:
    return np.full((height, width, 4), color, dtype=np.uint8)


def _pixels(image: np.ndarray) -> list[list[tuple[int, ...]]]:
    return [[tuple(px) for px in row] for row in image.tolist()]


def test_two_images_sit_left_to_right_with_a_transparent_gap() -> None:
    row = side_by_side([_solid(1, 2, RED), _solid(1, 1, BLUE)], gap=1)
    assert _pixels(row) == [[RED, RED, CLEAR, BLUE]]


def test_shorter_image_is_bottom_aligned_on_a_transparent_canvas() -> None:
    row = side_by_side([_solid(3, 1, RED), _solid(1, 1, BLUE)], gap=0)
    assert _pixels(row) == [[RED, CLEAR], [RED, CLEAR], [RED, BLUE]]


@pytest.mark.parametrize(
    ("align", "blue_row"),
    [("bottom", 2), ("center", 1), ("top", 0)],
)
def test_align_places_the_shorter_image(align: str, blue_row: int) -> None:
    row = side_by_side([_solid(3, 1, RED), _solid(1, 1, BLUE)], gap=0, align=align)  # type: ignore[arg-type]
    column = [tuple(px) for px in row[:, 1].tolist()]
    assert column == [BLUE if y == blue_row else CLEAR for y in range(3)]


def test_scale_enlarges_the_whole_row_gap_included() -> None:
    row = side_by_side([_solid(1, 1, RED), _solid(1, 1, BLUE)], gap=1, scale=2)
    assert _pixels(row) == [[RED, RED, CLEAR, CLEAR, BLUE, BLUE]] * 2


def test_auto_scale_makes_32_px_sprites_about_256_px_tall() -> None:
    row = side_by_side([_solid(32, 32, RED), _solid(32, 32, BLUE)], gap=1, scale=0)
    assert row.shape == (256, 65 * 8, 4)
    assert auto_scale(65, 32) == 8
    assert auto_scale(10, 1) == 16  # capped
    assert auto_scale(4000, 8) == 2  # the row stays within 8192 px


def test_opaque_background_shows_through_transparent_pixels() -> None:
    sprite = _solid(1, 2, RED)
    sprite[0, 1] = CLEAR
    row = side_by_side([sprite, _solid(1, 1, BLUE)], gap=1, background=(9, 9, 9, 255))
    grey = (9, 9, 9, 255)
    assert _pixels(row) == [[RED, grey, grey, BLUE]]


def test_half_transparent_pixel_is_composited_over_the_background() -> None:
    row = side_by_side([_solid(1, 1, (255, 255, 255, 128))], background=(0, 0, 0, 255))
    assert _pixels(row) == [[(128, 128, 128, 255)]]


def test_transparent_canvas_keeps_every_sprite_pixel_exactly() -> None:
    rng = np.random.default_rng(3)
    sprite = rng.integers(0, 256, size=(4, 5, 4), dtype=np.uint8)
    sprite[..., 3] = rng.choice(np.array([0, 255], dtype=np.uint8), size=(4, 5))
    sprite[sprite[..., 3] == 0] = 0
    row = side_by_side([sprite, sprite], gap=2)
    np.testing.assert_array_equal(row[:, :5], sprite)
    np.testing.assert_array_equal(row[:, 7:], sprite)
    assert not row[:, 5:7].any()


def test_background_text_parses_transparent_and_hex() -> None:
    assert parse_background("transparent") == CLEAR
    assert parse_background("") == CLEAR
    assert parse_background("#102030") == (16, 32, 48, 255)
    with pytest.raises(InvalidPaletteError, match="'grey'"):
        parse_background("grey")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"gap": -1}, "gap=-1 is out of range"),
        ({"gap": 257}, "gap=257 is out of range"),
        ({"scale": 65}, "scale=65 is out of range"),
        ({"scale": -1}, "scale=-1 is out of range"),
        ({"background": (1, 2, 3)}, "background=.* is not an RGBA colour"),
        ({"align": "middle"}, "align='middle' is unknown; choose one of bottom, center, top"),
    ],
)
def test_bad_option_is_refused_naming_it(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        side_by_side([_solid(1, 1, RED)], **options)  # type: ignore[arg-type]


def test_no_frames_or_a_non_rgba_frame_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="frames is empty"):
        side_by_side([])
    with pytest.raises(InvalidImageError, match=r"frames\[1\] must be RGBA"):
        side_by_side([_solid(1, 1, RED), np.zeros((2, 2, 3), dtype=np.uint8)])


def test_a_row_wider_than_8192_px_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="limit is 8192"):
        side_by_side([_solid(1, 4096, RED), _solid(1, 4096, BLUE)], gap=1)


def test_batches_pair_item_by_item_and_a_single_image_repeats() -> None:
    a = [_solid(1, 1, RED)]
    b = [_solid(1, 1, BLUE), _solid(1, 1, CLEAR)]
    rows = zip_batches({"image_a": a, "image_b": b})
    assert [[frame is a[0] for frame in row] for row in rows] == [[True, False], [True, False]]
    assert rows[0][1] is b[0] and rows[1][1] is b[1]


def test_uneven_batches_are_refused_naming_the_sizes() -> None:
    two, three = [_solid(1, 1, RED)] * 2, [_solid(1, 1, BLUE)] * 3
    with pytest.raises(InvalidParameterError, match="'image_a': 2, 'image_b': 3"):
        zip_batches({"image_a": two, "image_b": three})
    with pytest.raises(InvalidParameterError, match="image_b has no images"):
        zip_batches({"image_a": two, "image_b": []})
