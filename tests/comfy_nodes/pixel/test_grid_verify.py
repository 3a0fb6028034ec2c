"""Flat UI icons: the lattice is checked against the picture's own colour steps.

A flat icon (a frame along the border, a plain inside, a plus or an arrow) has few edges,
so the edge spectrum alone read such pictures at half, double, a JPEG block harmonic or a
near period that fits the frame but drifts through the middle. Each case below was read
wrongly before ``grid_verify`` and the 8/3-px JPEG harmonic (the size it gave is in the
comment); all but the last still are without ``grid_verify``.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from pixel_grid_helpers import COLORS, degrade, sprite, upscale

from comfy_nodes.pixel.grid import detect_grid
from comfy_nodes.pixel.grid_verify import StepMarks, off_lattice_share, step_marks
from comfy_nodes.pixel.palette import Palette
from comfy_nodes.pixel.pipeline import PixelizeOptions, pixelize


def flat_icon(
    side: int, seed: int, arrow: bool, colours: tuple[int, int, int, int] | None = None
) -> NDArray[np.uint8]:
    """An opaque ``side²`` UI button in 4 of COLORS (seeded, or the given indices):
    background, rounded frame, plain inside, and a one-cell plus (or a filled arrow)."""
    rng = np.random.default_rng(seed)
    pick = colours if colours is not None else rng.choice(len(COLORS), 4, replace=False)
    bg, frame, fill, mark = (COLORS[int(i)] for i in pick)
    icon = np.empty((side, side, 4), np.uint8)
    icon[..., :3], icon[..., 3] = bg, 255
    icon[1:-1, 2:-2, :3] = frame
    icon[2:-2, 1:-1, :3] = frame
    icon[3:-3, 3:-3, :3] = fill
    c, arm = side // 2, side // 5
    if arrow:
        for t in range(arm + 1):
            icon[c - arm + t : c + arm - t + 1, c - arm // 2 + t, :3] = mark
    else:
        icon[c - arm : c + arm + 1, c, :3] = mark
        icon[c, c - arm : c + arm + 1, :3] = mark
    return icon


def _render(truth: NDArray[np.uint8], scale: float, seed: int) -> NDArray[np.uint8]:
    img = upscale(truth, scale, offset=(0.4 * seed, 0.7))
    return degrade(img, seed=seed, blur=1.2, noise=3.0, jpeg=75)


# (side, px per cell, seed, arrow): what the spectrum alone read.
FLAT_ICONS = [
    (48, 12.4, 1, False),  # 46 cells: a near period that fits the frame
    (48, 15.2, 2, False),  # 46 cells
    (48, 15.2, 0, False),  # 6 cells of 115 px
    (32, 26.3, 0, False),  # 16 cells: the cell doubled
    (48, 12.4, 1, True),  # 94 cells: the cell halved
    (32, 12.4, 1, False),  # 62 cells
    (24, 13.8, 1, False),  # 166 cells of 2 px: JPEG's chroma ripple
    (16, 33.5, 0, False),  # 201 cells of 2.67 px: a harmonic of JPEG's 8-px blocks
]


@pytest.mark.parametrize(("side", "scale", "seed", "arrow"), FLAT_ICONS)
def test_flat_icons_come_back_at_their_true_size_pixel_for_pixel(
    side: int, scale: float, seed: int, arrow: bool
) -> None:
    truth = flat_icon(side, seed, arrow)
    img = _render(truth, scale, seed)
    grid = detect_grid(img)
    assert (grid.cols, grid.rows) == (side, side)
    assert grid.cell_w == pytest.approx(scale, rel=0.01)
    palette = Palette(name="icon", colors=np.unique(truth[..., :3].reshape(-1, 3), axis=0))
    result = pixelize(img, PixelizeOptions(palette=palette, remove_background="none"))
    np.testing.assert_array_equal(result.sprite, truth)


def test_busy_sprites_keep_their_grid() -> None:
    """The check must not move a lattice the spectrum already got right."""
    for seed, scale in ((1, 9.3), (2, 14.6), (3, 21.8)):
        truth = sprite(32, 32, seed=seed)
        grid = detect_grid(degrade(upscale(truth, scale, offset=(2.0, 1.0)), seed=seed, jpeg=80))
        assert (grid.cols, grid.rows) == (32, 32)


def test_steps_sit_on_the_cell_boundaries_of_a_clean_upscale() -> None:
    truth = flat_icon(20, 3, arrow=False)
    img = upscale(truth, 16.0)[..., :3]
    marks = step_marks(img, 1)
    assert marks.count > 0
    assert set(np.unique(marks.pos % 16.0)) == {0.0}
    assert step_marks(img, 0).count > 0


def test_off_lattice_share_tells_the_true_lattice_from_its_double_and_a_drift() -> None:
    truth = flat_icon(24, 4, arrow=True, colours=(0, 1, 4, 5))  # each step changes luma
    img = _render(truth, 20.0, 4)
    marks = step_marks(img, 1)
    x0 = 1.6  # _render's offset for seed 4
    assert off_lattice_share(marks, x0 + np.arange(25) * 20.0, 20.0) < 0.01
    assert off_lattice_share(marks, x0 + np.arange(13) * 40.0, 40.0) > 0.2
    drift = 480.0 / 23.0  # one cell fewer across the picture
    assert off_lattice_share(marks, x0 + np.arange(24) * drift, drift) > 0.05


def test_noise_alone_leaves_no_steps() -> None:
    rng = np.random.default_rng(7)
    flat = np.clip(128 + rng.normal(0, 6, (256, 256, 3)), 0, 255).astype(np.uint8)
    assert step_marks(flat, 1).count == 0
    assert step_marks(flat, 0).count == 0


def test_tiny_pictures_and_empty_marks_judge_nothing() -> None:
    tiny = np.zeros((3, 5, 3), np.uint8)
    assert step_marks(tiny, 1).count == 0
    assert step_marks(tiny, 0).count == 0
    assert off_lattice_share(StepMarks(np.zeros(0)), np.arange(5.0), 1.0) == 0.0
    assert off_lattice_share(StepMarks(np.array([3.0])), np.array([0.0]), 1.0) == 0.0
