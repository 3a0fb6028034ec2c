"""`dgx-pixels generate-sheet`: one command, a 4-direction x 4-frame walk sheet with its
Aseprite atlas, Bevy atlas, GIF preview and consistency figures; bad directions and sheets
past the size caps refused before anything is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from comfy_nodes.pixel.sheet_consistency import measure
from comfy_nodes.pixel.sheets import FrameTag
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


def test_one_command_writes_a_four_by_four_walk_sheet_with_its_atlases_and_figures(
    orch_engine: Any, env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "sheets"
    args = ["generate-sheet", "a knight", "--directions", "down,left,right,up", "--frames", "4"]
    args += ["--denoise", "0.45", "--seed", "11", *TINY, "-o", str(out)]
    result = _run([*args, "--backend", orch_engine.url], env)

    assert result.exit_code == 0, result.output
    sheet_png, aseprite_json, bevy_json, gif = [Path(p) for p in result.stdout.split()]
    assert sheet_png.parent.parent == out
    with Image.open(sheet_png) as img:
        sheet = np.asarray(img.convert("RGBA"))
    bevy = json.loads(bevy_json.read_text())
    tile_w, tile_h = bevy["tile_size"]
    assert (bevy["columns"], bevy["rows"], bevy["frame_count"]) == (4, 4, 16)
    assert sheet.shape == (4 * tile_h, 4 * tile_w, 4)
    assert bevy["image"] == sheet_png.name
    names = ["walk_down", "walk_left", "walk_right", "walk_up"]
    assert [(a["name"], a["first"], a["last"]) for a in bevy["animations"]] == [
        (name, 4 * i, 4 * i + 3) for i, name in enumerate(names)
    ]
    aseprite = json.loads(aseprite_json.read_text())
    assert aseprite["meta"]["image"] == sheet_png.name
    assert [t["name"] for t in aseprite["meta"]["frameTags"]] == names
    assert len(aseprite["frames"]) == 16
    with Image.open(gif) as anim:
        assert anim.format == "GIF"
    # The report's figures are the ones the pixel core measures on the written sheet.
    report = json.loads(sheet_png.with_suffix(".json").read_text())["qa_report"]
    frames = [
        sheet[(i // 4) * tile_h : (i // 4 + 1) * tile_h, (i % 4) * tile_w : (i % 4 + 1) * tile_w]
        for i in range(16)
    ]
    tags = [FrameTag(name, 4 * i, 4 * i + 3) for i, name in enumerate(names)]
    measured = measure(frames, tags, None).to_dict()
    figures = report["sheet"]
    assert figures["frame_count"] == 16 and figures["frame_sizes_identical"] is True
    assert figures["silhouette_iou"] == measured["silhouette_iou"]
    assert figures["pivot_drift_px"] == measured["pivot_drift_px"]
    assert "16 frames: palette identical" in result.stderr


def test_unknown_directions_and_sheets_past_the_caps_are_refused_before_anything_is_stored(
    orch_engine: Any, env: dict[str, str]
) -> None:
    base = ["--backend", orch_engine.url, *TINY]
    unknown = _run(["generate-sheet", "a knight", "--directions", "down,sideways", *base], env)
    assert unknown.exit_code == 1, unknown.output
    assert "directions" in unknown.stderr and "sideways" in unknown.stderr
    capped = {**env, "DGXP_MAX_PIXELS": str(64 * 64 * 15)}  # 16 frames of 64x64 do not fit
    over = _run(["generate-sheet", "a knight", *base], capped)
    assert over.exit_code == 1, over.output
    assert "max_pixels" in over.stderr and "16*64*64" in over.stderr
    few = {**env, "DGXP_MAX_OUTPUTS": "8"}
    too_many = _run(["generate-sheet", "a knight", *base], few)
    assert too_many.exit_code == 1 and "max_outputs" in too_many.stderr
    assert json.loads(_run(["jobs", "list", "--json"], env).stdout) == []


def test_the_help_names_exactly_the_directions_the_template_knows() -> None:
    # The help text is written out so `--help` loads no pydantic; this keeps it the registry.
    from orchestrator.adapters.cli.sheet import _DIRECTIONS_HELP
    from orchestrator.service.sheet_request import SHEET_DIRECTIONS

    listed = _DIRECTIONS_HELP.split("from:")[1].rstrip(".").replace(" ", "").split(",")
    assert listed == list(SHEET_DIRECTIONS)
