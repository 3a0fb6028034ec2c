"""`dgx-pixels train dataset` as a real process: the folder on stdout, notes on stderr,
`--json`, and bad input as one error line naming the value, with nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from train_testkit import sprite_sources


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "40", "DGXP_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "orchestrator.adapters.cli", "train", "dataset", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_dataset_path_on_stdout_notes_on_stderr(tmp_path: Path) -> None:
    src = sprite_sources(tmp_path / "src", 5)
    done = _cli(tmp_path, str(src), "-o", str(tmp_path / "ds"), "--trigger", "pxl")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{tmp_path / 'ds'}\n"
    assert "✓ s0.png: 12x12 sprite, x85 in 1024x1024" in done.stderr
    assert (tmp_path / "ds" / "manifest.json").is_file()


def test_json_gives_one_record(tmp_path: Path) -> None:
    src = sprite_sources(tmp_path / "src", 5)
    done = _cli(tmp_path, str(src), "-o", str(tmp_path / "ds"), "--trigger", "pxl", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert [i["name"] for i in record["images"]] == [f"s{i}.png" for i in range(5)]
    assert record["images"][0]["caption"].startswith("pxl, ")


def test_too_few_images_is_one_error_line_and_nothing_is_written(tmp_path: Path) -> None:
    src = sprite_sources(tmp_path / "src", 3)
    done = _cli(tmp_path, str(src), "-o", str(tmp_path / "ds"), "--trigger", "pxl")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(f"error: SRC='{src}': holds 3 distinct")
    assert "--min-images" in done.stderr
    assert not (tmp_path / "ds").exists()


def test_an_unknown_alpha_mode_lists_the_valid_ones(tmp_path: Path) -> None:
    src = sprite_sources(tmp_path / "src", 5)
    out = str(tmp_path / "ds")
    done = _cli(tmp_path, str(src), "-o", out, "--trigger", "pxl", "--alpha", "cut")
    assert done.returncode == 2
    assert "--alpha='cut': choose key, mask" in done.stderr
    assert not (tmp_path / "ds").exists()
