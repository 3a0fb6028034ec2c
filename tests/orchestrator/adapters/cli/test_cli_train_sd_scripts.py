"""`dgx-pixels train run --sd-scripts DIR`: a prepared dataset trained by (a fake) kohya
sd-scripts through the whole CLI path, and a wrong checkout named in one error line with
nothing under models/loras."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_testkit import cli_env
from PIL import Image
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app
from training.registry import read_card

FAKE = Path(__file__).resolve().parents[3] / "training" / "fake_sd_scripts"


@pytest.fixture
def env(tmp_path: Path, tiny_models: Path) -> dict[str, str]:
    return cli_env(tmp_path, tiny_models, COLUMNS="40")


def _run(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def _dataset(tmp_path: Path, env: dict[str, str]) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(1)
    for i in range(5):
        cells = (rng.integers(0, 3, size=(12, 12)) * 90).astype(np.uint8)
        rgb = np.stack([cells, cells.T, cells[::-1]], axis=-1)
        Image.fromarray(np.repeat(np.repeat(rgb, 4, 0), 4, 1)).save(src / f"s{i}.png")
    args = ["train", "dataset", str(src), "-o", str(tmp_path / "ds"), "--trigger", "pxlknight"]
    done = _run(args, env)
    assert done.exit_code == 0, done.output
    return tmp_path / "ds"


def test_train_run_with_sd_scripts_registers_a_kohya_lora(
    tmp_path: Path, env: dict[str, str]
) -> None:
    dataset = _dataset(tmp_path, env)
    args = ["train", "run", str(dataset), "--name", "knight", "--steps", "3", "--json"]
    args += ["--sd-scripts", str(FAKE), "--sd-scripts-python", sys.executable]
    result = _run(args, env)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.splitlines()[-1])
    assert record["backend"] == "kohya" and record["steps"] == 3
    loras = Path(env["DGXP_MODELS_DIR"]) / "loras"
    assert Path(record["lora_path"]) == loras / "knight.safetensors"
    card = read_card(loras, "knight")
    assert card is not None and card.trigger_words == ("pxlknight",)
    config = (Path(env["DGXP_DATA_DIR"])).rglob("dataset.toml")
    assert any(str(dataset.absolute()) in path.read_text() for path in config)


def test_train_run_with_a_wrong_checkout_names_it_and_registers_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    dataset = _dataset(tmp_path, env)
    missing = tmp_path / "no-sd-scripts"
    args = ["train", "run", str(dataset), "--name", "knight", "--steps", "3"]
    result = _run([*args, "--sd-scripts", str(missing)], env)
    assert result.exit_code != 0
    assert str(missing) in result.output and "sd_scripts" in result.output
    assert not (Path(env["DGXP_MODELS_DIR"]) / "loras").exists()
