"""What the installed `dgx-pixels` prints does not depend on the terminal width.

A long output path is printed whole on stdout (the result) and on stderr (the note), byte for
byte the same at COLUMNS=40 and COLUMNS=300, and so is a usage error naming a long path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

DGX_PIXELS = Path(sys.executable).with_name("dgx-pixels")


def _run(args: list[str], columns: str, tmp_path: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DGXP_")}
    env.update(COLUMNS=columns, DGXP_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.run(
        [str(DGX_PIXELS), *args], capture_output=True, text=True, env=env, timeout=300
    )
    return proc.returncode, proc.stdout, proc.stderr


def _picture(path: Path) -> Path:
    cells = np.random.default_rng(3).integers(0, 4, size=(16, 16))
    colors = np.array([[254, 2, 2], [2, 162, 2], [2, 2, 254], [250, 222, 2]], dtype=np.uint8)
    Image.fromarray(np.repeat(np.repeat(colors[cells], 8, axis=0), 8, axis=1)).save(path)
    return path


def test_pixelize_prints_the_whole_path_the_same_at_40_and_300_columns(tmp_path: Path) -> None:
    source = _picture(tmp_path / "potion.png")
    out = tmp_path / ("a-long-folder-name-that-wraps-" * 3) / "potion-sprite.png"
    narrow = _run(["pixelize", str(source), "-o", str(out)], "40", tmp_path)
    wide = _run(["pixelize", str(source), "-o", str(out)], "300", tmp_path)
    assert narrow == wide
    code, stdout, stderr = narrow
    assert code == 0, stderr
    assert stdout == f"{out}\n"
    assert str(out) in stderr.splitlines()[-1]
    assert out.is_file()


def test_a_usage_error_names_the_whole_path_the_same_at_any_width(tmp_path: Path) -> None:
    folder = tmp_path / ("another-long-folder-name-" * 3)
    folder.mkdir()
    _picture(folder / "a.png")
    args = ["pixelize", str(folder), "-o", str(tmp_path / "one.png")]  # a folder into one png
    narrow, wide = _run(args, "40", tmp_path), _run(args, "300", tmp_path)
    assert narrow == wide
    code, stdout, stderr = narrow
    assert code == 2 and stdout == ""
    assert "--out" in stderr and str(tmp_path / "one.png") in stderr and str(folder) in stderr
