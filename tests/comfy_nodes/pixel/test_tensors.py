"""ComfyUI IMAGE/MASK tensors <-> numpy RGBA frames."""

from __future__ import annotations

import numpy as np
import pytest

from comfy_nodes.pixel.errors import InvalidImageError
from comfy_nodes.pixel.tensors import (
    image_tensor_to_rgba,
    map_frames,
    pad_to_common_size,
    rgba_to_arrays,
    rgba_to_image_tensor,
)


def test_rgb_numpy_image_batch_becomes_opaque_rgba_frames() -> None:
    image = np.zeros((2, 1, 2, 3), dtype=np.float32)
    image[0, 0, 0] = (1.0, 0.5, 0.0)
    frames = image_tensor_to_rgba(image)
    assert len(frames) == 2
    assert frames[0].tolist() == [[[255, 128, 0, 255], [0, 0, 0, 255]]]


def test_reading_a_channels_first_view_rounds_clips_and_leaves_the_input_untouched() -> None:
    torch = pytest.importorskip("torch")
    # The layout a VAE decode's permute gives: [B, H, W, C] over [B, C, H, W] memory.
    planes = torch.tensor([[[[1.5, 0.498]], [[-0.2, 0.502]], [[0.0, 1.0]]]])
    before = planes.clone()
    (frame,) = image_tensor_to_rgba(planes.permute(0, 2, 3, 1))
    assert frame.tolist() == [[[255, 0, 0, 255], [127, 128, 255, 255]]]
    assert torch.equal(planes, before)


def test_mask_one_means_transparent_and_a_single_mask_covers_the_batch() -> None:
    image = np.ones((2, 1, 2, 3), dtype=np.float32)
    mask = np.array([[1.0, 0.0]], dtype=np.float32)  # [H, W]
    frames = image_tensor_to_rgba(image, mask)
    assert [frame[0, :, 3].tolist() for frame in frames] == [[0, 255], [0, 255]]


def test_torch_round_trip_is_exact_and_mask_is_inverse_alpha() -> None:
    torch = pytest.importorskip("torch")
    rgba = np.random.default_rng(4).integers(0, 256, size=(3, 2, 4), dtype=np.uint8)
    image, mask = rgba_to_image_tensor([rgba])
    assert isinstance(image, torch.Tensor) and image.dtype == torch.float32
    assert tuple(image.shape) == (1, 3, 2, 4) and tuple(mask.shape) == (1, 3, 2)
    np.testing.assert_allclose(mask.numpy(), 1.0 - rgba[..., 3][None] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(image_tensor_to_rgba(image)[0], rgba)


def test_frames_of_different_sizes_are_padded_with_transparency() -> None:
    small = np.full((1, 1, 4), 9, dtype=np.uint8)
    big = np.full((2, 3, 4), 7, dtype=np.uint8)
    padded = pad_to_common_size([small, big])
    assert [p.shape for p in padded] == [(2, 3, 4), (2, 3, 4)]
    assert padded[0][0, 0].tolist() == [9, 9, 9, 9] and padded[0][1, 2].tolist() == [0, 0, 0, 0]
    image, mask = rgba_to_arrays([small, big])
    assert image.shape == (2, 2, 3, 4) and mask[0, 1, 2] == 1.0


@pytest.mark.parametrize("shape", [(1, 2, 2, 2), (2, 2), (1, 0, 2, 3)])
def test_wrong_image_shapes_are_refused_with_the_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(InvalidImageError, match="image has shape"):
        image_tensor_to_rgba(np.zeros(shape, dtype=np.float32))


def test_mask_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(InvalidImageError, match=r"mask has shape \(1, 3, 3\)"):
        image_tensor_to_rgba(np.zeros((1, 2, 2, 3)), np.zeros((1, 3, 3)))


def test_map_frames_runs_the_step_per_frame_with_the_mask_as_alpha() -> None:
    pytest.importorskip("torch")
    image = np.zeros((2, 1, 2, 3), dtype=np.float32)
    image[1] = 1.0
    mask = np.zeros((2, 1, 2), dtype=np.float32)
    mask[0, 0, 1] = 1.0  # frame 0's right pixel is transparent
    seen: list[np.ndarray] = []

    def step(frame: np.ndarray) -> np.ndarray:
        seen.append(frame)
        return np.repeat(frame, 2, axis=0)  # a shape change passes through

    out_image, out_mask = map_frames(image, step, mask)
    assert [f[0, :, 3].tolist() for f in seen] == [[255, 0], [255, 255]]
    assert tuple(out_image.shape) == (2, 2, 2, 4)
    assert out_mask[0].tolist() == [[0.0, 1.0], [0.0, 1.0]] and float(out_mask[1].max()) == 0.0
