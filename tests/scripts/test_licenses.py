"""docs/licenses.md is what scripts/licenses.py writes from the installed metadata.

The direct dependencies' rows must equal a fresh generation (the transitive rows follow
whatever this environment resolved, so they are regenerated, not compared). Licence
extraction is checked on real distributions written to tmp_path.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str) -> ModuleType:
    """A module of scripts/ (a folder of tools, not a package), loaded by path."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


licenses = _script("licenses")


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(f"## {title}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return [line for line in lines[start:end] if line.startswith("|")]


def test_direct_dependency_rows_are_current() -> None:
    fresh = licenses.render(licenses.direct_rows(), [])
    committed = licenses.DOC.read_text(encoding="utf-8")
    title = "Direct dependencies"
    assert _section(committed, title) == _section(fresh, title), (
        "docs/licenses.md is stale: run `.venv/bin/python scripts/licenses.py`"
    )


def test_every_direct_dependency_has_a_row_with_a_licence() -> None:
    rows = licenses.direct_rows()
    names = {row.name.lower().replace("_", "-") for row in rows}
    assert {"torch", "diffusers", "numpy", "pyzmq", "fastmcp"} <= names
    torch = next(row for row in rows if row.name == "torch")
    assert torch.declared_in == "License-Expression" and "Apache-2.0" in torch.licence


def _dist(tmp_path: Path, *headers: str) -> metadata.Distribution:
    info = tmp_path / "demo-1.0.dist-info"
    info.mkdir()
    body = "\n".join(["Metadata-Version: 2.4", "Name: demo", "Version: 1.0", *headers])
    (info / "METADATA").write_text(body + "\n", encoding="utf-8")
    return metadata.PathDistribution(info)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (("License-Expression: MIT", "License: BSD"), ("MIT", "License-Expression")),
        (("License: BSD-3-Clause",), ("BSD-3-Clause", "License")),
        (
            ("License: " + "x" * 200, "Classifier: License :: OSI Approved :: MIT License"),
            ("MIT License", "classifier"),
        ),
        (("License: UNKNOWN",), ("not declared (see the project's LICENSE file)", "none")),
    ],
    ids=["expression", "short-field", "long-field-falls-back", "undeclared"],
)
def test_licence_of_reads_the_first_declared_field(
    tmp_path: Path, headers: tuple[str, ...], expected: tuple[str, str]
) -> None:
    assert licenses.licence_of(_dist(tmp_path, *headers)) == expected


def test_a_missing_dependency_is_named_with_what_to_run() -> None:
    with pytest.raises(SystemExit, match=r"'no-such-dist-dgxp' is not installed.*setup\.sh"):
        licenses.installed("no-such-dist-dgxp")


def test_the_script_writes_the_page_it_is_checked_against(tmp_path: Path) -> None:
    # The real entry point (a subprocess) regenerates the page; this test compares, never
    # rewrites, the committed file: the script runs against a copy of the repo's layout.
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    (copy / "docs").mkdir()
    (copy / "scripts" / "licenses.py").write_text(
        (ROOT / "scripts" / "licenses.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (copy / "pyproject.toml").write_text(
        (ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, str(copy / "scripts" / "licenses.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    written = (copy / "docs" / "licenses.md").read_text(encoding="utf-8")
    committed = licenses.DOC.read_text(encoding="utf-8")
    title = "Direct dependencies"
    assert _section(written, title) == _section(committed, title)
