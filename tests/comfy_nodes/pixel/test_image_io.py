"""Loading images of every awkward kind into uint8 RGBA, refusing bad ones, atomic saving."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from comfy_nodes.pixel.errors import InvalidImageError
from comfy_nodes.pixel.image_io import (
    check_rgba,
    encode_png,
    load_frames,
    load_image,
    save_png_atomic,
)


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size, with no pixel data: enough for Image.open."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_rgb_png_gets_an_opaque_alpha() -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    rgba = load_image(_png_bytes(Image.fromarray(rgb)))
    assert rgba.shape == (2, 3, 4) and rgba.dtype == np.uint8
    np.testing.assert_array_equal(rgba[..., :3], rgb)
    assert (rgba[..., 3] == 255).all()


def test_rgba_png_is_kept_exactly(tmp_path: Path) -> None:
    rgba = np.random.default_rng(1).integers(0, 256, size=(5, 4, 4), dtype=np.uint8)
    path = tmp_path / "sprite.png"
    Image.fromarray(rgba).save(path)
    np.testing.assert_array_equal(load_image(path), rgba)
    np.testing.assert_array_equal(load_image(str(path)), rgba)


def test_greyscale_png_becomes_equal_channels() -> None:
    grey = np.array([[0, 100, 255]], dtype=np.uint8)
    rgba = load_image(_png_bytes(Image.fromarray(grey)))
    assert rgba[0].tolist() == [[0, 0, 0, 255], [100, 100, 100, 255], [255, 255, 255, 255]]


def test_16_bit_greyscale_is_scaled_not_clipped() -> None:
    wide = np.array([[0, 32896, 65535]], dtype=np.uint16)
    rgba = load_image(_png_bytes(Image.fromarray(wide)))
    assert rgba[0, :, 0].tolist() == [0, 128, 255]


def test_16_bit_rgba_png_keeps_its_high_byte_and_alpha() -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    pixels = np.array([[[65535, 0, 32896, 65535], [0, 65535, 0, 0]]], dtype=">u2")
    raw = b"\x00" + pixels[0].tobytes()
    header = struct.pack(">IIBBBBB", 2, 1, 16, 6, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
    rgba = load_image(png + chunk(b"IEND", b""))
    assert rgba.tolist() == [[[255, 0, 128, 255], [0, 255, 0, 0]]]


def test_palette_mode_transparency_becomes_alpha() -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putdata([0, 1])
    image.info["transparency"] = 1
    rgba = load_image(_png_bytes(image))
    assert rgba[0, 0].tolist() == [255, 0, 0, 255]
    assert rgba[0, 1, 3] == 0


def _animated_gif() -> bytes:
    red = Image.new("RGB", (3, 2), (255, 0, 0))
    blue = Image.new("RGB", (3, 2), (0, 0, 255))
    buffer = io.BytesIO()
    red.save(buffer, format="GIF", save_all=True, append_images=[blue], duration=100, loop=0)
    return buffer.getvalue()


def test_animated_image_loads_first_frame_or_all_frames() -> None:
    data = _animated_gif()
    assert load_image(data)[0, 0].tolist() == [255, 0, 0, 255]
    frames = load_frames(data)
    assert [frame[0, 0].tolist() for frame in frames] == [[255, 0, 0, 255], [0, 0, 255, 255]]
    assert all(frame.shape == (2, 3, 4) for frame in frames)


def test_one_by_one_image_is_handled() -> None:
    rgba = load_image(_png_bytes(Image.new("RGBA", (1, 1), (1, 2, 3, 4))))
    assert rgba.tolist() == [[[1, 2, 3, 4]]]


def test_not_an_image_is_refused() -> None:
    with pytest.raises(InvalidImageError, match="is not an image"):
        load_image(b"%PDF-1.7 this is a document")


def test_truncated_png_is_refused_as_truncated() -> None:
    noise = np.random.default_rng(2).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    data = _png_bytes(Image.fromarray(noise))
    with pytest.raises(InvalidImageError, match="truncated or corrupt"):
        load_image(data[: len(data) * 2 // 3])


def test_zero_sized_png_is_refused() -> None:
    with pytest.raises(InvalidImageError, match=r"empty \(0x0 pixels\)|is not an image"):
        load_image(_png_header_only(0, 0))


@pytest.mark.parametrize(("width", "height"), [(8193, 16), (16, 9000), (20000, 20000)])
def test_oversized_image_is_refused_from_its_header_with_the_limit(width: int, height: int) -> None:
    with pytest.raises(InvalidImageError, match="8192x8192"):
        load_image(_png_header_only(width, height))


def test_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError, match=r"missing\.png does not exist"):
        load_image(tmp_path / "missing.png")


def test_save_png_atomic_round_trips_and_leaves_no_temp_files(tmp_path: Path) -> None:
    rgba = np.random.default_rng(3).integers(0, 256, size=(3, 5, 4), dtype=np.uint8)
    written = save_png_atomic(tmp_path / "out" / "sprite.png", rgba)
    np.testing.assert_array_equal(load_image(written), rgba)
    assert [p.name for p in written.parent.iterdir()] == ["sprite.png"]


def test_encode_png_round_trips_exactly() -> None:
    rgba = np.random.default_rng(9).integers(0, 256, size=(4, 3, 4), dtype=np.uint8)
    data = encode_png(rgba)
    assert data.startswith(b"\x89PNG")
    np.testing.assert_array_equal(load_image(data), rgba)


def test_failed_save_leaves_the_target_and_folder_untouched(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # os.replace onto a directory fails after the PNG was encoded
    (target / "keep.txt").write_text("precious")
    with pytest.raises(OSError):
        save_png_atomic(target, np.zeros((2, 2, 4), dtype=np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert (target / "keep.txt").read_text() == "precious"


@pytest.mark.parametrize(
    ("array", "problem"),
    [
        (np.zeros((2, 2, 3), dtype=np.uint8), r"shape \[H, W, 4\]"),
        (np.zeros((2, 2, 4), dtype=np.float32), "dtype float32"),
        (np.zeros((0, 2, 4), dtype=np.uint8), "empty"),
    ],
)
def test_check_rgba_names_what_is_wrong(array: np.ndarray, problem: str) -> None:
    with pytest.raises(InvalidImageError, match=problem):
        check_rgba(array, "sprite")
