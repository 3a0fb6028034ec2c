"""`dgx-pixels pixelize`: files and folders in, exact sprites out, bad input reported clearly."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from comfy_nodes.pixel.palette import resolve_palette
from orchestrator.adapters.cli.app import app

# Channel values sit on 6-bit lattice centres (2 mod 4), so exact asserts do not depend
# on the pipeline binning cell colours before k-means (a speed trade it makes).
COLORS = np.array([[254, 2, 2], [2, 162, 2], [2, 2, 254], [250, 222, 2]], dtype=np.uint8)
CELL = 12


def _truth(seed: int = 0, size: int = 16) -> np.ndarray:
    return COLORS[np.random.default_rng(seed).integers(0, 4, size=(size, size))]


def _upscaled(truth: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(truth, CELL, axis=0), CELL, axis=1)


def _save(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path


def _run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["pixelize", *map(str, args)])
    return result.exit_code, result.output


def _run_split(*args: str | Path) -> tuple[int, str, str]:
    """Exit code, stdout (results) and stderr (notes, warnings) apart."""
    result = CliRunner().invoke(app, ["pixelize", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def _read(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_one_file_becomes_an_exact_sprite_with_preview_and_sidecar(tmp_path: Path) -> None:
    truth = _truth()
    source = _save(tmp_path / "in" / "potion.png", _upscaled(truth))
    out = tmp_path / "out"
    code, stdout, stderr = _run_split(
        source, "-o", out, "--keep-bg", "--colors", "4", "--preview-scale", "4"
    )
    assert code == 0, stderr
    assert _files(out) == ["potion.json", "potion.png", "potion@4x.png"]
    assert stdout.splitlines() == [str(out / "potion.png")]  # the result, nothing else
    assert "✓ potion.png" in stderr
    sprite = _read(out / "potion.png")
    np.testing.assert_array_equal(sprite[..., :3], truth)
    assert (sprite[..., 3] == 255).all()
    assert _read(out / "potion@4x.png").shape == (64, 64, 4)
    sidecar = json.loads((out / "potion.json").read_text())
    assert sidecar["type"] == "dgxp_pixelize_sidecar"
    assert sidecar["qa_report"]["pixel_perfect"] is True
    assert sidecar["source"] == str(source.resolve()) and sidecar["qa_warnings"] == []
    assert sidecar["request"]["colors"] == 4 and len(sidecar["palette"]) == 4


def test_single_input_may_name_the_output_png(tmp_path: Path) -> None:
    source = _save(tmp_path / "hero.png", _upscaled(_truth(1)))
    code, output = _run(source, "-o", tmp_path / "sprites" / "hero_16.png", "--keep-bg")
    assert code == 0, output
    assert _files(tmp_path / "sprites") == ["hero_16.json", "hero_16.png"]


def test_a_fixed_palette_file_locks_the_colours(tmp_path: Path) -> None:
    palette = tmp_path / "mine.gpl"
    palette.write_text("GIMP Palette\n255 0 0\n0 0 255\n0 0 0\n")
    source = _save(tmp_path / "a.png", _upscaled(_truth(2)))
    code, output = _run(source, "-o", tmp_path / "out", "--keep-bg", "--palette", palette)
    assert code == 0, output
    sprite = _read(tmp_path / "out" / "a.png")[..., :3]
    used = {tuple(c) for c in sprite.reshape(-1, 3).tolist()}
    assert used <= {(255, 0, 0), (0, 0, 255), (0, 0, 0)}
    assert len(used) >= 2


def _header_only_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_folder_run_continues_past_bad_files_and_lists_them_all(tmp_path: Path) -> None:
    folder = tmp_path / "renders"
    _save(folder / "good.png", _upscaled(_truth(3)))
    (folder / "notes.png").write_bytes(b"this is text, not a picture")
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
        buffer, format="PNG"
    )
    (folder / "cut.png").write_bytes(buffer.getvalue()[:2000])
    (folder / "huge.png").write_bytes(_header_only_png(9000, 16))
    (folder / "readme.txt").write_text("ignored: not an image suffix")
    out = tmp_path / "out"
    code, output = _run(folder, tmp_path / "missing.png", "-o", out, "--keep-bg")
    assert code == 1
    assert "4 of 5 input(s) failed" in output
    for name, problem in [
        ("notes.png", "is not an image"),
        ("cut.png", "truncated or corrupt"),
        ("huge.png", "8192x8192"),
        ("missing.png", "does not exist"),
    ]:
        assert any(name in line and problem in line for line in output.splitlines()), (name, output)
    assert _files(out) == ["good.json", "good.png"]  # nothing for the bad files, no temps


def test_animated_input_uses_its_first_frame(tmp_path: Path) -> None:
    truth = _truth(4, size=8)
    first = Image.fromarray(_upscaled(truth))
    second = Image.fromarray(_upscaled(_truth(5, size=8)))
    source = tmp_path / "walk.gif"
    first.save(source, save_all=True, append_images=[second], duration=100)
    code, output = _run(source, "-o", tmp_path / "out", "--keep-bg", "--colors", "4")
    assert code == 0, output
    sprite = _read(tmp_path / "out" / "walk.png")
    np.testing.assert_array_equal(sprite[..., :3], truth)


def test_an_output_that_cannot_be_written_leaves_earlier_files_untouched(tmp_path: Path) -> None:
    source = _save(tmp_path / "a.png", _upscaled(_truth(6)))
    out = tmp_path / "out"
    assert _run(source, "-o", out, "--keep-bg")[0] == 0
    earlier = (out / "a.png").read_bytes()
    (out / "a@8x.png").mkdir()  # this run's preview cannot be written there
    _save(source, _upscaled(_truth(11)))  # the new run would produce a different sprite
    code, output = _run(source, "-o", out, "--keep-bg", "--preview-scale", "8")
    assert code == 1
    assert "a@8x.png is a folder" in output
    assert _files(out) == ["a.json", "a.png", "a@8x.png"]
    assert (out / "a.png").read_bytes() == earlier
    assert _files(out / "a@8x.png") == []


def test_same_names_from_two_folders_do_not_overwrite_each_other(tmp_path: Path) -> None:
    first = _save(tmp_path / "x" / "a.png", _upscaled(_truth(7)))
    second = _save(tmp_path / "y" / "a.png", _upscaled(_truth(8)))
    code, output = _run(first, second, "-o", tmp_path / "out", "--keep-bg")
    assert code == 0, output
    assert _files(tmp_path / "out") == ["a-2.json", "a-2.png", "a.json", "a.png"]


@pytest.mark.parametrize("colors", ["0", "1", "300"])
def test_colors_out_of_range_is_a_usage_error_naming_it(tmp_path: Path, colors: str) -> None:
    source = _save(tmp_path / "a.png", _upscaled(_truth()))
    code, output = _run(source, "-o", tmp_path / "out", "--colors", colors)
    assert code == 2
    assert "--colors" in output and f"colors={colors}" in output
    assert not (tmp_path / "out").exists()


def test_unknown_palette_name_lists_valid_names(tmp_path: Path) -> None:
    source = _save(tmp_path / "a.png", _upscaled(_truth()))
    code, output = _run(source, "-o", tmp_path / "out", "--palette", "vaporwave")
    assert code == 2
    flat = " ".join(output.split())
    for name in ("pico-8", "gameboy", "nes", "endesga-32", "sweetie-16"):
        assert name in flat
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["--size", "32by32"], "--size"),
        (["--dither", "atkinson"], "--dither"),
        (["--bg-mode", "magic"], "--bg-mode"),
        (["--bg-mode", "key"], "--key-color"),
        (["--outline-color", "navy"], "--outline-color"),
    ],
)
def test_bad_options_are_usage_errors_naming_the_option(
    tmp_path: Path, args: list[str], hint: str
) -> None:
    source = _save(tmp_path / "a.png", _upscaled(_truth()))
    code, output = _run(source, "-o", tmp_path / "out", *args)
    assert code == 2
    assert hint in output
    assert not (tmp_path / "out").exists()


def test_default_output_folder_comes_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DGXP_DATA_DIR", str(tmp_path / "data"))
    source = _save(tmp_path / "a.png", _upscaled(_truth()))
    code, output = _run(source, "--keep-bg")
    assert code == 0, output
    assert _files(tmp_path / "data" / "outputs" / "pixelized") == ["a.json", "a.png"]


def test_help_teaches_with_examples() -> None:
    code, output = _run("--help")
    assert code == 0
    for text in ("Examples", "--palette pico-8", "--preview-scale", "--colors", "--dither"):
        assert text in output


def test_shared_palette_gives_the_whole_set_one_palette(tmp_path: Path) -> None:
    other = np.array([[2, 250, 250], [250, 2, 250], [130, 130, 130], [34, 34, 34]], dtype=np.uint8)
    folder = tmp_path / "set"
    _save(folder / "a.png", _upscaled(_truth(9)))
    _save(folder / "b.png", _upscaled(other[np.random.default_rng(10).integers(0, 4, (16, 16))]))
    (folder / "broken.png").write_bytes(b"not an image")

    def used_colours(out: Path) -> set[tuple[int, ...]]:
        return {
            tuple(c)
            for name in ("a.png", "b.png")
            for c in _read(out / name)[..., :3].reshape(-1, 3).tolist()
        }

    code, _ = _run(folder, "-o", tmp_path / "own", "--keep-bg", "--colors", "4")
    assert code == 1 and len(used_colours(tmp_path / "own")) == 8
    code, output = _run(
        folder, "-o", tmp_path / "shared", "--keep-bg", "-c", "4", "--shared-palette"
    )
    assert code == 1
    assert "shared palette: #" in output
    assert output.count("broken.png:") == 1  # reported once, not once per pass
    assert len(used_colours(tmp_path / "shared")) <= 4
    assert _files(tmp_path / "shared") == ["a.json", "a.png", "b.json", "b.png"]
    palette = json.loads((tmp_path / "shared" / "a.json").read_text())["palette"]
    assert output.count(" ".join(palette)) == 1  # the sidecar records the shared palette


def test_a_folder_with_a_png_output_is_refused_naming_the_option(tmp_path: Path) -> None:
    folder = tmp_path / "renders"
    _save(folder / "a.png", _upscaled(_truth()))
    code, output = _run(folder, "-o", tmp_path / "x.png")
    assert code == 2
    assert "--out" in output and "is a folder" in " ".join(output.split())
    assert not (tmp_path / "x.png").exists() and _files(tmp_path) == ["renders"]


def test_palette_with_colors_is_refused_naming_both_flags(tmp_path: Path) -> None:
    source = _save(tmp_path / "a.png", _upscaled(_truth()))
    code, output = _run(source, "-o", tmp_path / "out", "--palette", "pico-8", "--colors", "8")
    assert code == 2
    assert "--palette" in output and "--colors" in output
    assert not (tmp_path / "out").exists()


def test_a_fully_transparent_sprite_is_a_warning_not_a_check_mark(tmp_path: Path) -> None:
    clear = np.zeros((96, 96, 4), dtype=np.uint8)
    source = tmp_path / "ghost.png"
    Image.fromarray(clear, "RGBA").save(source)
    code, stdout, stderr = _run_split(source, "-o", tmp_path / "out", "--keep-bg", "--size", "8x8")
    assert code == 0, stderr
    assert "✓" not in stderr
    assert "warning:" in stderr and "fully transparent" in stderr
    assert stdout.splitlines() == [str(tmp_path / "out" / "ghost.png")]
    sidecar = json.loads((tmp_path / "out" / "ghost.json").read_text())
    assert "the sprite is fully transparent" in sidecar["qa_warnings"]


def test_palette_and_outline_stay_inside_the_palette(tmp_path: Path) -> None:
    truth = _truth(12)
    framed = np.zeros((20, 20, 3), dtype=np.uint8)
    framed[...] = (255, 255, 255)
    framed[2:18, 2:18] = truth  # a white border the background removal takes away
    source = _save(tmp_path / "a.png", _upscaled(framed))
    out = tmp_path / "out"
    code, _, stderr = _run_split(source, "-o", out, "--palette", "pico-8", "--outline")
    assert code == 0, stderr
    sidecar = json.loads((out / "a.json").read_text())
    assert sidecar["qa_report"]["palette_conformance"] == 1.0
    assert sidecar["qa_warnings"] == [] and "✓ a.png" in stderr
    sprite = _read(out / "a.png")
    used = {"#{:02x}{:02x}{:02x}".format(*c) for c in sprite[sprite[..., 3] > 0][:, :3].tolist()}
    assert used <= set(resolve_palette("pico-8").hex_codes())
    assert (sprite[..., 3] == 0).any()  # the border went transparent, so an outline was drawn


def _tile(seed: int = 0, size: int = 24) -> np.ndarray:
    """A seamless ground texture: one dominant colour, specks of three others everywhere."""
    ground = np.array([[70, 122, 50], [94, 150, 62], [58, 98, 42], [122, 90, 62]], np.uint8)
    idx = np.random.default_rng(seed).choice(4, size=(size, size), p=[0.7, 0.1, 0.1, 0.1])
    return ground[idx]


def test_plain_pixelize_keeps_an_opaque_tile_opaque_and_says_why(tmp_path: Path) -> None:
    source = _save(tmp_path / "grass.png", _upscaled(_tile()))
    code, _stdout, stderr = _run_split(source, "-o", tmp_path / "out")
    assert code == 0, stderr
    sprite = _read(tmp_path / "out" / "grass.png")
    assert sprite.shape[:2] == (24, 24)
    assert float((sprite[..., 3] == 255).mean()) >= 0.99
    report = json.loads((tmp_path / "out" / "grass.json").read_text())
    assert any("kept: no background found" in n for n in json.dumps(report).split('"'))


def test_plain_pixelize_still_cuts_a_sprite_out_of_a_flat_background(tmp_path: Path) -> None:
    picture = np.full((16, 16, 3), 240, np.uint8)
    picture[4:12, 5:11] = _truth(3, size=8)[:, :6]
    source = _save(tmp_path / "hero.png", _upscaled(picture))
    code, _stdout, stderr = _run_split(source, "-o", tmp_path / "out")
    assert code == 0, stderr
    alpha = _read(tmp_path / "out" / "hero.png")[..., 3]
    expected = np.zeros((16, 16), bool)
    expected[4:12, 5:11] = True
    np.testing.assert_array_equal(alpha == 255, expected)


def test_colors_auto_picks_the_palette_size_and_the_report_says_so(tmp_path: Path) -> None:
    source = _save(tmp_path / "potion.png", _upscaled(_truth(5)))
    code, _stdout, stderr = _run_split(source, "-o", tmp_path / "out", "--keep-bg", "-c", "auto")
    assert code == 0, stderr
    sprite = _read(tmp_path / "out" / "potion.png")
    np.testing.assert_array_equal(sprite[..., :3], _truth(5))
    assert "palette auto: 4 colours" in (tmp_path / "out" / "potion.json").read_text()


def test_colors_auto_goes_with_a_palette_but_a_number_does_not(tmp_path: Path) -> None:
    source = _save(tmp_path / "a.png", _upscaled(_truth()))
    code, output = _run(source, "-o", tmp_path / "ok", "-p", "pico-8", "-c", "auto", "--keep-bg")
    assert code == 0, output
    code, output = _run(source, "-o", tmp_path / "no", "-p", "pico-8", "-c", "8")
    assert code == 2 and "--palette / --colors" in output
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("colors", ["many", "2.5", "-4"])
def test_colors_that_is_neither_auto_nor_a_number_is_refused(tmp_path: Path, colors: str) -> None:
    source = _save(tmp_path / "a.png", _upscaled(_truth()))
    code, output = _run(source, "-o", tmp_path / "out", "--colors", colors)
    assert code == 2 and "--colors" in output and '"auto" or 2..256' in output
    assert not (tmp_path / "out").exists()
