"""The checks in the test command cover every package, and every package ships typed.

The package list is derived from pyproject's setuptools `include` (what the wheel holds),
so a new top-level package (e.g. `training/`) must join mypy's `files` and carry a
`py.typed` before the suite passes again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def _pyproject() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def packages() -> list[str]:
    """Top-level packages the wheel includes that exist in the checkout."""
    include = _pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    names = {pattern.rstrip("*").rstrip(".") for pattern in include}
    return sorted(name for name in names if (REPO / name / "__init__.py").is_file())


def test_mypy_checks_every_package_and_the_scripts() -> None:
    files = _pyproject()["tool"]["mypy"]["files"]
    assert sorted(files) == sorted([*packages(), "scripts"])
    assert _pyproject()["tool"]["mypy"]["strict"] is True


@pytest.mark.parametrize("package", packages())
def test_every_package_has_a_py_typed_marker(package: str) -> None:
    assert (REPO / package / "py.typed").is_file(), f"add {package}/py.typed"


@pytest.mark.slow
def test_the_wheel_ships_every_py_typed_marker(tmp_path: Path) -> None:
    # Build from a copy so the checkout's build/ and egg-info stay untouched.
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in packages():
        shutil.copytree(
            REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("py.typed")}
    assert shipped == {f"{package}/py.typed" for package in packages()}
