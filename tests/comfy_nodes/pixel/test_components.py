"""comfy_nodes.pixel.components labels regions exactly as scipy does (scipy stays a test oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from comfy_nodes.pixel.components import connected_labels, label_mask


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (64, 64)])
@pytest.mark.parametrize("share", [0.0, 0.3, 0.6, 1.0])
@pytest.mark.parametrize("diagonal", [False, True])
def test_label_mask_numbers_regions_like_scipy(
    shape: tuple[int, int], share: float, diagonal: bool
) -> None:
    mask = np.random.default_rng(7).random(shape) < share
    structure = np.ones((3, 3), dtype=bool) if diagonal else None
    expected, expected_count = ndimage.label(mask, structure=structure)
    labels, count = label_mask(mask, diagonal=diagonal)
    assert count == expected_count
    np.testing.assert_array_equal(labels, expected)


def test_a_diagonal_touch_joins_only_with_diagonal() -> None:
    mask = np.array([[1, 0], [0, 1]], dtype=bool)
    assert label_mask(mask)[1] == 2
    assert label_mask(mask, diagonal=True)[1] == 1


def test_connected_labels_match_scipy_on_a_random_graph() -> None:
    rng = np.random.default_rng(3)
    nodes = 500
    rows, cols = rng.integers(0, nodes, (2, 300))
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(nodes, nodes))
    _, expected = connected_components(graph, directed=False)
    np.testing.assert_array_equal(connected_labels(nodes, rows, cols), expected)
