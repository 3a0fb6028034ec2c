"""`dgx-pixels pixelize --compare`: NAME_compare.png next to the sprite, listed in the
sidecar; without the flag no comparison is written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app


def _picture(path: Path) -> np.ndarray:
    """A clean 8x8 two-colour sprite, 8 px per cell (64x64)."""
    cells = np.zeros((8, 8, 3), dtype=np.uint8)
    cells[:, :4] = (200, 40, 40)
    cells[:, 4:] = (40, 40, 200)
    big = np.kron(cells, np.ones((8, 8, 1), dtype=np.uint8))
    Image.fromarray(big, "RGB").save(path)
    return big


def test_compare_writes_input_sprite_and_palette_side_by_side(tmp_path: Path) -> None:
    env = {"DGXP_DATA_DIR": str(tmp_path / "data")}
    big = _picture(tmp_path / "tile.png")
    out = tmp_path / "out"
    args = ["pixelize", str(tmp_path / "tile.png"), "-o", str(out), "--keep-bg", "--compare"]
    args += ["--size", "8x8"]
    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    compare = out / "tile_compare.png"
    assert f"compare: {compare}" in result.stderr
    with Image.open(compare) as img:
        row = np.asarray(img.convert("RGBA"))
    assert row.shape[0] == 64
    np.testing.assert_array_equal(row[:, :64, :3], big)  # the input, as it was
    sprite_part = row[:, 64 + 8 : 64 + 8 + 64, :3]  # gap 8, the 8x8 sprite at x8
    np.testing.assert_array_equal(sprite_part, big)
    sidecar = json.loads((out / "tile.json").read_text())
    assert sidecar["files"]["comparison"] == str(compare)
    assert sidecar["request"]["compare"] is True
    swatch = {tuple(c) for c in row[:, 64 + 8 + 64 + 8 :, :3].reshape(-1, 3).tolist()}
    palette = {tuple(int(h[k : k + 2], 16) for k in (1, 3, 5)) for h in sidecar["palette"]}
    assert palette == {(200, 40, 40), (40, 40, 200)} and palette <= swatch


def test_without_the_flag_no_comparison_is_written(tmp_path: Path) -> None:
    _picture(tmp_path / "tile.png")
    out = tmp_path / "out"
    args = ["pixelize", str(tmp_path / "tile.png"), "-o", str(out), "--keep-bg"]
    result = CliRunner().invoke(app, args, env={"DGXP_DATA_DIR": str(tmp_path / "d")})
    assert result.exit_code == 0, result.output
    assert not (out / "tile_compare.png").exists()
