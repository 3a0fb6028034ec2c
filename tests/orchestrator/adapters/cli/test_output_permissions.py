"""Files the CLI writes get the umask's permissions, not mkstemp's 0600 (issue 9)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _cli() -> list[str]:
    installed = Path(sys.executable).with_name("dgx-pixels")
    if installed.is_file():
        return [str(installed)]
    found = shutil.which("dgx-pixels")
    return [found] if found else [sys.executable, "-m", "orchestrator.adapters.cli.app"]


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o027, 0o640)])
def test_pixelize_outputs_get_the_umask_mode(tmp_path: Path, umask: int, expected: int) -> None:
    picture = tmp_path / "hero.png"
    cells = np.random.default_rng(1).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    Image.fromarray(np.repeat(np.repeat(cells, 8, axis=0), 8, axis=1)).save(picture)
    out = tmp_path / "out"
    env = {**os.environ, "DGXP_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "40"}
    done = subprocess.run(
        [*_cli(), "pixelize", str(picture), "-o", str(out), "--colors", "4"],
        env=env,
        umask=umask,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert written, done.stderr
    assert {p.name: p.stat().st_mode & 0o777 for p in written} == dict.fromkeys(
        (p.name for p in written), expected
    )
