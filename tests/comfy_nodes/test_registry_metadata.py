"""The node pack's Comfy Registry metadata (comfy_nodes/pyproject.toml) is publishable.

The Registry installs the folder holding that file as `custom_nodes/<name>/` and imports
its `__init__.py`, so the metadata must live next to the pack's `__init__.py` and carry
the keys the Registry requires, at the project's own version.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "comfy_nodes"


def _toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def test_pack_metadata_sits_next_to_the_init_the_registry_imports() -> None:
    assert (PACK / "pyproject.toml").is_file() and (PACK / "__init__.py").is_file()
    assert (PACK / "README.md").is_file()


def test_pack_metadata_has_the_keys_the_registry_requires() -> None:
    meta = _toml(PACK / "pyproject.toml")
    project, comfy = meta["project"], meta["tool"]["comfy"]
    assert project["name"] == "comfyui-dgx-pixels"
    # Registry node ids: letters, digits, - _ . ; no leading special, no doubled specials
    assert re.fullmatch(r"[A-Za-z](?:[A-Za-z0-9]|[-_.](?=[A-Za-z0-9]))*", project["name"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
    assert project["license"] in ({"text": "Apache-2.0"}, {"file": "LICENSE"})
    assert sorted(project["dependencies"]) == ["numpy", "pillow", "scipy"]
    assert project["urls"]["Repository"].startswith("https://")
    assert comfy["PublisherId"] and comfy["DisplayName"] == "DGX-Pixels"
    assert "Icon" not in comfy or str(comfy["Icon"]).startswith("https://")


def test_pack_version_equals_the_projects() -> None:
    pack = _toml(PACK / "pyproject.toml")["project"]["version"]
    assert pack == _toml(ROOT / "pyproject.toml")["project"]["version"]


def test_root_pyproject_no_longer_claims_the_registry_metadata() -> None:
    # the root has no __init__.py, so a Registry install of the root would not import
    assert "comfy" not in _toml(ROOT / "pyproject.toml").get("tool", {})
