"""The independent benchmark set and its measures: known truths give known scores."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from independent import make_independent_set
from pixel_measures import colour_map_agreement, measure

RED, BLUE, GREEN = (200, 30, 30, 255), (30, 30, 200, 255), (30, 200, 30, 255)


def _sprite(rows: list[str]) -> np.ndarray:
    colours = {"r": RED, "b": BLUE, "g": GREEN, ".": (0, 0, 0, 0)}
    return np.array([[colours[c] for c in row] for row in rows], np.uint8)


def test_the_truth_scores_perfectly_against_itself() -> None:
    truth = _sprite(["rrb.", "rgb.", "...."])
    m = measure(truth, truth)
    assert m.size_exact and m.colour_accuracy == 1.0 and m.colour_map_agreement == 1.0
    assert m.colours_ratio == 1.0


def test_a_split_colour_costs_agreement_and_raises_the_ratio() -> None:
    truth = _sprite(["rrrr", "bbbb"])
    split = truth.copy()
    split[0, 2:, :3] = (210, 30, 30)  # one red region read as two reds
    m = measure(truth, split)
    # red pairs: 6 in the truth, 1 + 1 kept; blue 6 kept -> 8 / (12 + 8 - 8)
    assert m.colour_map_agreement == pytest.approx(8 / 12)
    assert m.colours_out == 3 and m.colours_truth == 2 and m.colour_accuracy == 1.0


def test_merged_colours_cost_agreement_too() -> None:
    truth = _sprite(["rrgg"])
    merged = _sprite(["rrrr"])
    assert colour_map_agreement(truth, merged) == pytest.approx(2 / 6)


def test_a_wrong_size_is_not_exact_and_still_scored() -> None:
    truth = _sprite(["rb", "br"])
    m = measure(truth, np.repeat(np.repeat(truth, 2, 0), 2, 1))
    assert not m.size_exact and m.colour_accuracy == 1.0


def test_the_independent_set_is_seeded_and_keeps_its_truth() -> None:
    first = list(make_independent_set(3, seed=5))
    again = list(make_independent_set(3, seed=5))
    for a, b in zip(first, again, strict=True):
        assert a.name == b.name and np.array_equal(a.image, b.image)
        used = np.unique(a.truth[a.truth[..., 3] > 0][:, :3], axis=0)
        assert 3 <= len(a.palette) <= 24 and np.array_equal(used, a.palette)
        h, w = a.truth.shape[:2]
        assert a.image.shape[:2] == (
            round(h * a.degradation.scale + a.degradation.offset_y),
            round(w * a.degradation.scale + a.degradation.offset_x),
        )


def test_a_large_background_does_not_pad_the_agreement() -> None:
    truth = _sprite(["........", "........", "...rg...", "........"])
    merged = _sprite(["........", "........", "...rr...", "........"])
    assert colour_map_agreement(truth, merged) == 0.0
