"""`dgx-pixels generate-autotile`: one command, a 16-tile corner set with its atlas layout,
random map, and edge figures; bad terrains and size caps refused before anything runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from comfy_nodes.pixel.wang import WANG_TILES, corners_of, edge_scores
from orchestrator.adapters.cli.app import app

TINY = [
    *("--param", "checkpoint=tiny_sdxl.safetensors"),
    *("--param", "width=64", "--param", "height=64", "--steps", "2"),
]


@pytest.fixture
def env(tmp_path: Path, engine_models_dir: Path) -> dict[str, str]:
    (tmp_path / "none.toml").write_text("")
    return {
        "DGXP_DATA_DIR": str(tmp_path / "data"),
        "DGXP_MODELS_DIR": str(engine_models_dir),
        "DGXP_CONFIG": str(tmp_path / "none.toml"),
    }


def _run(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def _tiles(atlas: np.ndarray, side: int) -> list[np.ndarray]:
    return [
        atlas[(i // 4) * side : (i // 4 + 1) * side, (i % 4) * side : (i % 4 + 1) * side]
        for i in range(WANG_TILES)
    ]


def test_one_command_writes_16_tiles_atlas_layout_map_and_edge_figures(
    orch_engine: Any, env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "tiles"
    args = ["generate-autotile", "grass", "water", "-s", "16x16", "--seed", "3", *TINY]
    args += ["--param", "map_size=5", "-o", str(out), "--backend", orch_engine.url]
    result = _run(args, env)
    assert result.exit_code == 0, result.output
    atlas_png, layout_json, map_png = [Path(p) for p in result.stdout.split()]
    assert atlas_png.parent.parent == out and layout_json.name.endswith(".atlas.json")

    with Image.open(atlas_png) as img:
        atlas = np.asarray(img.convert("RGBA"))
    assert atlas.shape == (64, 64, 4)
    layout = json.loads(layout_json.read_text())
    assert layout["tile_size"] == [16, 16] and (layout["columns"], layout["rows"]) == (4, 4)
    assert [t["corners"] for t in layout["tiles"]] == [corners_of(i) for i in range(16)]
    with Image.open(map_png) as img:
        assert img.size == (5 * 16, 5 * 16)

    sidecar = json.loads(atlas_png.with_suffix(".json").read_text())
    edges = sidecar["qa_report"]["autotile"]["edges"]
    # The report's figures are the ones the pixel core measures on the written atlas.
    measured = edge_scores(_tiles(atlas, 16))
    assert edges["pairs"] == len(edges["per_pair"]) == len(measured) == 128
    assert [p["score"] for p in edges["per_pair"]] == [s.score for s in measured]
    assert "edges: 128 touching pairs checked" in result.stderr
    assert "lower terrain seams" in result.stderr and "upper terrain seams" in result.stderr
    params = sidecar["params"]
    assert (params["prompt"], params["upper_terrain"]) == ("grass", "water")


def test_an_empty_terrain_or_a_set_past_the_size_cap_is_refused_naming_it(
    orch_engine: Any, env: dict[str, str]
) -> None:
    base = ["--backend", orch_engine.url, *TINY]
    empty = _run(["generate-autotile", "grass", "  ", *base], env)
    assert empty.exit_code == 1 and "upper" in empty.stderr and "terrain" in empty.stderr
    capped = {**env, "DGXP_MAX_PIXELS": str(64 * 64 * 15)}  # 16 tiles of 64x64 do not fit
    over = _run(["generate-autotile", "grass", "water", *base], capped)
    assert over.exit_code == 1, over.output
    assert "template 'autotile''s 16 tiles" in over.stderr and "max_pixels" in over.stderr
    too_small = _run(["generate-autotile", "grass", "water", "-s", "4x4", *base], env)
    assert too_small.exit_code == 1 and "sprite_size" in too_small.stderr
    assert json.loads(_run(["jobs", "list", "--json"], env).stdout) == []
