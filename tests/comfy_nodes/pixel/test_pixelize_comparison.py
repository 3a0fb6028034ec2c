"""`pixelize_comparison`: input | enlarged sprite | palette swatch, exact pixels."""

from __future__ import annotations

import numpy as np

from comfy_nodes.pixel.compare import pixelize_comparison


def test_the_row_is_input_then_sprite_at_a_whole_factor_then_the_palette() -> None:
    source = np.full((32, 40, 4), 200, dtype=np.uint8)
    sprite = np.zeros((8, 8, 4), dtype=np.uint8)
    sprite[..., 3] = 255
    sprite[:4, :, :3] = (255, 0, 0)
    sprite[4:, :, :3] = (0, 0, 255)
    palette = np.array([[255, 0, 0], [0, 0, 255]], dtype=np.uint8)
    row = pixelize_comparison(source, sprite, palette, gap=2)
    # 40 input + 2 + 32 sprite (x4) + 2 + 16 swatch (2 cells of 16 px: 32 // 2 rows)
    assert row.shape == (32, 40 + 2 + 32 + 2 + 16, 4)
    np.testing.assert_array_equal(row[:, :40], source)
    np.testing.assert_array_equal(row[:, 40:42, 3], 0)  # the gap is transparent
    np.testing.assert_array_equal(row[:16, 42:74, :3], np.broadcast_to([255, 0, 0], (16, 32, 3)))
    np.testing.assert_array_equal(row[16:, 42:74, :3], np.broadcast_to([0, 0, 255], (16, 32, 3)))
    assert tuple(row[5, 80, :]) == (255, 0, 0, 255) and tuple(row[20, 80, :]) == (0, 0, 255, 255)


def test_an_empty_palette_leaves_the_swatch_out() -> None:
    source = np.full((8, 8, 4), 9, dtype=np.uint8)
    row = pixelize_comparison(source, source[:4, :4], np.zeros((0, 3), np.uint8), gap=1)
    assert row.shape == (8, 8 + 1 + 8, 4)
