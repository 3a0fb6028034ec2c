"""docker/requirements.lock is current and complete for the images' `--no-deps` install.

The lock is made by scripts/lock.sh (minutes, network), never by a test; these tests say
when it must be rerun: a runtime requirement of pyproject.toml missing or pinned outside
its range, a dependency the installed environment needs that the lock lacks, a pin
without hashes, or torch pinned (it must come from the base image).
"""

from __future__ import annotations

import importlib.util
import re
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "docker" / "requirements.lock"


def _script(name: str) -> ModuleType:
    """A module of scripts/ (a folder of tools, not a package), loaded by path."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_RUNTIME = _script("runtime_requirements")
NOT_LOCKED: frozenset[str] = _RUNTIME.NOT_LOCKED
runtime_requirements = _RUNTIME.runtime_requirements

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$")
RERUN = "rerun `bash scripts/lock.sh`"


def parse_lock(text: str) -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes) of a pip-compile hashed lock."""
    pins: dict[str, tuple[Version, int]] = {}
    current = ""
    for line in text.splitlines():
        if match := _PIN.match(line):
            current = canonicalize_name(match[1])
            pins[current] = (Version(match[2]), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
        elif not line.startswith(" "):
            current = ""
    return pins


PINS = parse_lock(LOCK.read_text(encoding="utf-8"))


@pytest.mark.parametrize("line", runtime_requirements(), ids=str)
def test_each_runtime_requirement_is_pinned_in_range(line: str) -> None:
    requirement = Requirement(line)
    name = canonicalize_name(requirement.name)
    assert name in PINS, f"{name} is not in {LOCK.name}: {RERUN}"
    assert requirement.specifier.contains(PINS[name][0], prereleases=True), f"{line}: {RERUN}"


def _closure(roots: list[str]) -> set[str]:
    """Names the installed environment needs for `roots`, torch's own tree left out."""
    seen: set[str] = set()
    todo = [Requirement(line) for line in roots]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        marker_ok = requirement.marker is None or requirement.marker.evaluate({"extra": ""})
        if name in seen or name in NOT_LOCKED or not marker_ok:
            continue
        seen.add(name)
        todo += [Requirement(r) for r in metadata.requires(name) or []]
    return seen


def test_lock_holds_every_dependency_of_the_runtime_tree() -> None:
    missing = _closure(runtime_requirements()) - set(PINS)
    assert not missing, f"{sorted(missing)} missing from {LOCK.name}: {RERUN}"


def test_every_pin_has_hashes_and_torch_is_not_pinned() -> None:
    assert len(PINS) > 50
    assert not [name for name, (_, hashes) in PINS.items() if hashes == 0]
    assert not NOT_LOCKED & set(PINS)


def test_parse_lock_reads_pins_and_hashes() -> None:
    text = "a-b==1.2 \\\n    --hash=sha256:00 \\\n    --hash=sha256:11\n    # via x\nc==3 \\\n"
    assert parse_lock(text) == {"a-b": (Version("1.2"), 2), "c": (Version("3"), 0)}
