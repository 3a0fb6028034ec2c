"""Orphan-pixel removal: lone pixels take their neighbours' majority colour."""

from __future__ import annotations

import numpy as np

from comfy_nodes.pixel.orphans import find_orphans, remove_orphans

A = (10, 20, 30, 255)
B = (200, 0, 0, 255)
C = (0, 200, 0, 255)


def _grid(rows: list[str]) -> np.ndarray:
    colors = {"a": A, "b": B, "c": C, ".": (0, 0, 0, 0)}
    return np.array([[colors[ch] for ch in row] for row in rows], dtype=np.uint8)


def test_a_lone_pixel_takes_the_majority_colour_around_it() -> None:
    image = _grid(["aaa", "aba", "acc"])
    result = remove_orphans(image)
    np.testing.assert_array_equal(result, _grid(["aaa", "aaa", "acc"]))


def test_pixels_with_a_same_coloured_neighbour_are_kept() -> None:
    image = _grid(["aaaa", "abba", "aaaa"])
    np.testing.assert_array_equal(remove_orphans(image), image)
    assert not find_orphans(image).any()


def test_diagonal_neighbours_count_as_company() -> None:
    image = _grid(["baa", "aba", "aaa"])
    assert find_orphans(image).tolist() == [[False] * 3] * 3


def test_decisions_use_the_input_not_earlier_fixes() -> None:
    # Both b and c are orphans; each is fixed from the original neighbourhood, so c does not
    # see b's replacement and vice versa.
    image = _grid(["aaaa", "abca", "aaaa"])
    np.testing.assert_array_equal(remove_orphans(image), _grid(["aaaa", "aaaa", "aaaa"]))


def test_a_transparent_speck_inside_a_sprite_is_filled() -> None:
    image = _grid(["aaa", "a.a", "aaa"])
    np.testing.assert_array_equal(remove_orphans(image), _grid(["aaa", "aaa", "aaa"]))


def test_one_pixel_image_is_unchanged() -> None:
    image = _grid(["b"])
    np.testing.assert_array_equal(remove_orphans(image), image)


def test_max_contrast_keeps_deliberate_details_and_cleans_strays() -> None:
    skin = (230, 180, 150, 255)
    near = (222, 172, 146, 255)  # a stray, barely different from the skin
    eye = (20, 20, 40, 255)  # a 1-px eye: a deliberate detail
    image = np.array([[skin] * 5, [skin, eye, skin, near, skin], [skin] * 5], dtype=np.uint8)
    result = remove_orphans(image, max_contrast=0.25)
    assert result[1, 1].tolist() == list(eye)
    assert result[1, 3].tolist() == list(skin)
    assert remove_orphans(image)[1, 1].tolist() == list(skin)  # no limit: every orphan goes


def test_max_contrast_never_fills_a_hole_in_the_alpha() -> None:
    image = _grid(["aaa", "a.a", "aaa"])
    np.testing.assert_array_equal(remove_orphans(image, max_contrast=0.25), image)
