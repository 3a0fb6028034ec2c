"""scripts/sbom.sh writes a valid CycloneDX SBOM of the real installed environment.

The script runs as a user runs it (a subprocess over this repo's .venv); the output is
checked with cyclonedx-python-lib's strict JSON-schema validator and against the versions
that the environment's own metadata reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sbom.sh"
VALIDATOR = JsonStrictValidator(SchemaVersion.V1_6)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )


@pytest.fixture(scope="module")
def sbom_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("sbom") / "bom.cdx.json"
    result = _run(sys.executable, str(out))
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8")


def _components(sbom: dict[str, Any]) -> dict[str, str]:
    return {c["name"].lower(): c.get("version", "") for c in sbom["components"]}


def test_sbom_is_valid_cyclonedx_json(sbom_text: str) -> None:
    assert VALIDATOR.validate_str(sbom_text) is None
    sbom = json.loads(sbom_text)
    assert (sbom["bomFormat"], sbom["specVersion"]) == ("CycloneDX", "1.6")


@pytest.mark.parametrize("name", ["torch", "diffusers"])
def test_sbom_lists_dependencies_with_installed_versions(sbom_text: str, name: str) -> None:
    assert _components(json.loads(sbom_text))[name] == metadata.version(name)


def test_sbom_root_component_is_our_package(sbom_text: str) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    component = json.loads(sbom_text)["metadata"]["component"]
    assert (component["name"], component["version"]) == (project["name"], project["version"])


def test_validator_rejects_a_corrupted_sbom(sbom_text: str) -> None:
    sbom = json.loads(sbom_text)
    sbom["components"][0]["version"] = 5  # a number where the schema wants a string
    assert VALIDATOR.validate_str(json.dumps(sbom)) is not None


def test_a_bad_interpreter_is_refused_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-python"
    out = tmp_path / "bom.json"
    result = _run(str(missing), str(out))
    assert result.returncode == 2
    assert str(missing) in result.stderr
    assert "python" in result.stderr.lower()
    assert not out.exists()
