"""Write docs/licenses.md: the licence of every dependency, read from installed metadata.

Run it after changing dependencies (`.venv/bin/python scripts/licenses.py`); nothing in the
page is typed by hand. tests/scripts/test_licenses.py fails when the direct dependencies'
rows differ from what this script would write now.

A distribution's licence is taken, in this order, from its PEP 639 `License-Expression`, a
short one-line `License` field, or its `License ::` trove classifiers; otherwise the page
says it is not declared (read the project's own LICENSE file).
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from importlib.metadata import PackageMetadata

__all__ = [
    "DOC",
    "LicenceRow",
    "direct_rows",
    "installed",
    "licence_of",
    "render",
    "shipped_extras",
    "transitive_rows",
]

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
DOC = PYPROJECT.parent / "docs" / "licenses.md"
# `dev` holds tools that never ship; `all` is the union of the other extras.
NOT_SHIPPED = frozenset({"dev", "all"})
_SHORT_LICENSE = 80  # a longer `License` field is the licence's full text, not its name


@dataclass(frozen=True)
class LicenceRow:
    """One dependency: its name, licence, where the licence was read, and who needs it."""

    name: str
    licence: str
    declared_in: str
    needed_by: str


def _field(meta: PackageMetadata, name: str) -> str:
    """A metadata field's value, "" when absent."""
    return str(meta[name]) if name in meta else ""


def licence_of(dist: metadata.Distribution) -> tuple[str, str]:
    """(licence, the metadata field it came from) of an installed distribution."""
    meta = dist.metadata
    if expression := _field(meta, "License-Expression"):
        return expression, "License-Expression"
    text = _field(meta, "License").strip()
    if text and text != "UNKNOWN" and "\n" not in text and len(text) <= _SHORT_LICENSE:
        return text, "License"
    classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    if classifiers:
        return " OR ".join(c.rpartition(" :: ")[2] for c in classifiers), "classifier"
    return "not declared (see the project's LICENSE file)", "none"


def installed(name: str) -> metadata.Distribution:
    """The installed distribution `name`; exits naming it when it is missing."""
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError as exc:
        raise SystemExit(
            f"licenses: dependency {name!r} is not installed: run `bash scripts/setup.sh` "
            "(it installs every extra) and try again"
        ) from exc


def _shipped_groups() -> dict[str, list[str]]:
    """pyproject's requirement strings by group label: "dependencies", "engine extra", ..."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    groups = {"dependencies": list(project["dependencies"])}
    for extra, lines in project["optional-dependencies"].items():
        if extra not in NOT_SHIPPED:
            groups[f"{extra} extra"] = list(lines)
    return groups


def shipped_extras() -> list[str]:
    """The extras whose dependencies ship to users (all but NOT_SHIPPED)."""
    return [g.removesuffix(" extra") for g in _shipped_groups() if g != "dependencies"]


def _direct() -> dict[str, list[str]]:
    """canonical name -> the groups of pyproject that list it."""
    where: dict[str, list[str]] = {}
    for label, lines in _shipped_groups().items():
        for line in lines:
            where.setdefault(canonicalize_name(Requirement(line).name), []).append(label)
    return where


def _row(name: str, needed_by: str) -> LicenceRow:
    dist = installed(name)
    licence, field = licence_of(dist)
    return LicenceRow(dist.metadata["Name"], licence, field, needed_by)


def direct_rows() -> list[LicenceRow]:
    """Rows of the dependencies pyproject.toml lists (base and shipped extras)."""
    return [_row(name, ", ".join(where)) for name, where in sorted(_direct().items())]


def transitive_rows() -> list[LicenceRow]:
    """Rows of what the direct dependencies pull in, as installed in this environment."""
    direct = _direct()
    parent: dict[str, str] = {}
    todo = [(name, name) for name in sorted(direct)]
    while todo:
        name, via = todo.pop(0)
        for line in installed(name).requires or []:
            requirement = Requirement(line)
            child = canonicalize_name(requirement.name)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            if child not in direct and child not in parent:
                parent[child] = via
                todo.append((child, child))
    return [_row(name, f"via {parent[name]}") for name in sorted(parent)]


def _table(rows: list[LicenceRow]) -> list[str]:
    lines = ["| package | licence | declared in | needed by |", "|---|---|---|---|"]
    lines += [f"| {r.name} | {r.licence} | {r.declared_in} | {r.needed_by} |" for r in rows]
    return lines


def render(direct: list[LicenceRow], transitive: list[LicenceRow]) -> str:
    """The whole docs/licenses.md page."""
    extras = ", ".join(shipped_extras())
    head = [
        "# Licences of DGX-Pixels' dependencies",
        "",
        "Generated by `scripts/licenses.py` from the installed packages' metadata; do not",
        "edit by hand. DGX-Pixels itself is Apache-2.0. Covered: the dependencies of",
        "pyproject.toml and of its extras (not `dev`, whose tools never ship):",
        f"{extras}; then everything they pull in. `declared in` names the metadata field",
        "the licence was read from (`none`: none declared; read the package's LICENSE file).",
        "torch comes from NVIDIA's base image in the containers; its row is PyPI's build.",
        "",
        "## Direct dependencies",
        "",
    ]
    middle = ["", "## Transitive dependencies (as installed where this page was made)", ""]
    return "\n".join([*head, *_table(direct), *middle, *_table(transitive)]) + "\n"


if __name__ == "__main__":
    DOC.write_text(render(direct_rows(), transitive_rows()), encoding="utf-8")
    sys.stderr.write(f"written: {DOC}\n")
