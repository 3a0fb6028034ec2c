"""A lattice fitted at a fraction of the cell size is caught and made coarser."""

from __future__ import annotations

import numpy as np
from pixel_grid_helpers import sprite, upscale

from comfy_nodes.pixel.grid_multiple import coarser_multiple


def _lines(start: float, period: float, count: int) -> np.ndarray:
    return start + np.arange(count + 1) * period


def test_a_quarter_size_lattice_is_four_times_too_fine() -> None:
    img = upscale(sprite(16, 16, seed=3), 20.0)
    xs, ys = _lines(0.0, 5.0, 64), _lines(0.0, 5.0, 64)
    assert coarser_multiple(img, xs, ys) == (4, 0, 0)


def test_the_phase_of_the_true_boundaries_is_found() -> None:
    img = upscale(sprite(16, 16, seed=4), 20.0)
    # the fine lattice starts 10 px (two fine cells) before the true boundary at 0
    xs, ys = _lines(-10.0, 5.0, 66), _lines(-10.0, 5.0, 66)
    found = coarser_multiple(img, xs, ys)
    assert found is not None and found[0] == 4
    assert xs[found[1]] % 20.0 == 0.0 and ys[found[2]] % 20.0 == 0.0


def test_the_true_lattice_is_left_alone() -> None:
    img = upscale(sprite(16, 16, seed=5), 20.0)
    xs, ys = _lines(0.0, 20.0, 16), _lines(0.0, 20.0, 16)
    assert coarser_multiple(img, xs, ys) is None
