"""The may-import rules of ARCHITECTURE.md, checked over the real import graph.

The graph is built with `ast` from every module of the first-party packages: imports inside
functions and under `TYPE_CHECKING` count too (a lazy import is still a dependency), and
relative imports are resolved against the importing module's package. The rules live
once, as data (`RULES`), and a failure lists every offending `file:line`.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("comfy_nodes", "engine", "orchestrator", "training")

# Shared by every orchestrator subpackage (decided beyond ARCHITECTURE.md's table): the one
# error tree, the one settings class, and the seed/size bounds every door checks alike.
_ORCH_COMMON = frozenset({"orchestrator.errors", "orchestrator.settings", "orchestrator.bounds"})

# Engine's public API: the package itself (whose `__all__` re-exports the entry points) and
# the entry-point module. Anything deeper is the engine's own business.
ENGINE_PUBLIC = frozenset({"engine", "engine.runner"})

# component -> the components it may import, besides itself. A component is the longest
# prefix in this table that names a module's package (see `component_of`).
RULES: dict[str, frozenset[str]] = {
    "comfy_nodes": frozenset({"comfy_nodes.nodes", "comfy_nodes.pixel"}),
    "comfy_nodes.pixel": frozenset(),
    "comfy_nodes.nodes": frozenset({"comfy_nodes.pixel"}),
    "engine": frozenset({"comfy_nodes", "comfy_nodes.nodes", "comfy_nodes.pixel"}),
    "training": frozenset({"comfy_nodes.pixel"}) | ENGINE_PUBLIC,
    "orchestrator": frozenset(),
    "orchestrator.errors": frozenset(),
    "orchestrator.settings": frozenset({"orchestrator.errors"}),
    "orchestrator.bounds": frozenset({"orchestrator.errors"}),
    "orchestrator.comfy": _ORCH_COMMON,
    "orchestrator.workflows": _ORCH_COMMON | {"orchestrator.comfy"},
    "orchestrator.jobs": _ORCH_COMMON,
    # The atomic-write helper lives in the pixel core (comfy_nodes/pixel/atomic.py).
    "orchestrator.deploy": _ORCH_COMMON | {"comfy_nodes.pixel"},
    "orchestrator.service": _ORCH_COMMON
    | {
        "orchestrator.comfy",
        "orchestrator.workflows",
        "orchestrator.jobs",
        "orchestrator.deploy",
        "training",
        "comfy_nodes.pixel",
    },
    # The wire knows job state and kind names only, never the job store or the service.
    "orchestrator.wire": _ORCH_COMMON | {"orchestrator.jobs.states", "orchestrator.jobs.kinds"},
    "orchestrator.adapters": frozenset(),
    # The CLI is the process entry point, so it is the one adapter that calls the composition
    # root (which builds the service and, when asked, the in-process engine).
    "orchestrator.adapters.cli": _ORCH_COMMON
    | {
        "orchestrator.service",
        "orchestrator.wire",
        "orchestrator.composition",
        "orchestrator.adapters.zmq",
        "orchestrator.adapters.mcp",
        "orchestrator.adapters.tui",
        "orchestrator.adapters.metrics",
    },
    # The daemon's /metrics endpoint (issue 10): serves a registry; knows no use case.
    "orchestrator.adapters.metrics": _ORCH_COMMON,
    "orchestrator.adapters.zmq": _ORCH_COMMON | {"orchestrator.service", "orchestrator.wire"},
    "orchestrator.adapters.mcp": _ORCH_COMMON | {"orchestrator.service", "orchestrator.wire"},
    # The TUI reaches the daemon over ZeroMQ only: wire types and the ZMQ client.
    "orchestrator.adapters.tui": _ORCH_COMMON | {"orchestrator.wire"},
    # The one composition root may build anything, engine only through its public API.
    "orchestrator.composition": frozenset({"orchestrator", "comfy_nodes", "training"})
    | ENGINE_PUBLIC,
}

# Components that may import any module of an allowed component's package tree, not just
# its top: e.g. the composition root builds from every orchestrator subpackage.
_WIDE = frozenset({"orchestrator.composition"})

# Violations a colleague is removing right now, each with who and why. The real-tree test
# tolerates these and fails once one of them no longer occurs, so the list only shrinks.
PENDING: dict[tuple[str, str], str] = {}

# Components whose third-party imports are limited (besides the standard library).
THIRD_PARTY: dict[str, frozenset[str]] = {
    # ComfyUI's own modules (comfy, folder_paths, server, nodes, ...) are not listed, so the
    # pack loads in any ComfyUI and in engine/ alike.
    "comfy_nodes": frozenset({"numpy", "scipy", "PIL", "torch"}),
}


@dataclass(frozen=True)
class Import:
    """One import statement's target, as seen from the module that wrote it."""

    path: Path
    line: int
    source: str
    target: str


@dataclass(frozen=True)
class Violation:
    """An import the rules forbid, formatted the way a failure lists it."""

    found: Import
    rule: str

    def __str__(self) -> str:
        where = f"{self.found.path}:{self.found.line}"
        return f"{where}: {self.found.source} imports {self.found.target} ({self.rule})"


def module_name(root: Path, path: Path) -> str:
    """`orchestrator/wire/__init__.py` -> `orchestrator.wire`, relative to `root`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_modules(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Every first-party module under `root`, by dotted name."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(root, path)] = path
    return found


def _resolve_from(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    """The absolute module named by a (maybe relative) `from X import ...`."""
    if not node.level:
        return node.module or ""
    base = source.split(".") if is_package else source.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(root: Path, source: str, modules: Mapping[str, Path]) -> Iterator[Import]:
    """Every import in one module, anywhere in its body; `from a import b` names `a.b` when
    `a.b` is a module, else `a`."""
    path = modules[source]
    shown = path.relative_to(root)
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(shown, node.lineno, source, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(node, source, is_package)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield Import(shown, node.lineno, source, sub if sub in modules else base)


def component_of(module: str) -> str | None:
    """The longest `RULES` key that is `module` or one of its packages."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in RULES:
            return prefix
    return None


def _within(target: str, allowed: str) -> bool:
    return target == allowed or target.startswith(allowed + ".")


def _first_party_rule(found: Import, source_comp: str) -> str | None:
    """Why a first-party import breaks the table, or None when it is allowed."""
    target_comp = component_of(found.target)
    if target_comp == source_comp:
        return None
    allowed = RULES[source_comp]
    if found.target.split(".")[0] == "engine" and source_comp != "engine":
        if found.target in ENGINE_PUBLIC and allowed >= ENGINE_PUBLIC:
            return None
        return f"{source_comp} may use engine only via its public API {sorted(ENGINE_PUBLIC)}"
    if source_comp in _WIDE and any(_within(found.target, a) for a in allowed):
        return None
    if target_comp in allowed or found.target in allowed:
        return None
    return f"{source_comp} may import {sorted(allowed) or 'nothing first-party'}"


def _third_party_rule(found: Import, source_comp: str) -> str | None:
    """Why a third-party import breaks an allow-list, or None when it is allowed."""
    family = next((f for f in THIRD_PARTY if _within(source_comp, f)), None)
    top = found.target.split(".")[0]
    if family is None or top in sys.stdlib_module_names or top in THIRD_PARTY[family]:
        return None
    return f"{family} may import the standard library and {sorted(THIRD_PARTY[family])}"


def check(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[Violation]:
    """Every import under `root` that the rules forbid, in file order, each listed once."""
    modules = find_modules(root, packages)
    violations: dict[tuple[Path, int, str], Violation] = {}
    for source in modules:
        source_comp = component_of(source)
        if source_comp is None:
            continue
        for found in imports_of(root, source, modules):
            first_party = found.target.split(".")[0] in PACKAGES
            rule = (
                _first_party_rule(found, source_comp)
                if first_party
                else _third_party_rule(found, source_comp)
            )
            if rule is not None:
                key = (found.path, found.line, found.target)
                violations.setdefault(key, Violation(found, rule))
    return list(violations.values())


def pending_key(violation: Violation) -> tuple[str, str] | None:
    """The `PENDING` entry that tolerates this violation, if any."""
    return next(
        (
            key
            for key in PENDING
            if _within(violation.found.source, key[0]) and _within(violation.found.target, key[1])
        ),
        None,
    )


def test_the_real_tree_follows_the_architecture_table() -> None:
    violations = [v for v in check(REPO) if pending_key(v) is None]
    assert not violations, "imports the architecture forbids:\n" + "\n".join(map(str, violations))


def test_every_pending_exception_still_occurs() -> None:
    used = {pending_key(v) for v in check(REPO)}
    fixed = sorted(set(PENDING) - used)
    assert not fixed, f"fixed, so remove from PENDING: {fixed}"


def _write_tree(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_reports_a_lazy_relative_import_the_table_forbids(tmp_path: Path) -> None:
    # `jobs` may import only errors/settings; this one reaches up into the service, inside a
    # function and through a relative import, which the checker must still see.
    _write_tree(
        tmp_path,
        {
            "orchestrator/__init__.py": "",
            "orchestrator/errors.py": "",
            "orchestrator/jobs/__init__.py": "from . import store\n",
            "orchestrator/jobs/store.py": (
                "from ..errors import x\n\ndef f():\n    from ..service import core\n"
            ),
            "orchestrator/service/__init__.py": "",
            "orchestrator/service/core.py": "from orchestrator.jobs.store import f\n",
        },
    )
    found = [str(v) for v in check(tmp_path, ("orchestrator",))]
    assert found == [
        "orchestrator/jobs/store.py:4: orchestrator.jobs.store imports "
        "orchestrator.service.core (orchestrator.jobs may import "
        "['orchestrator.bounds', 'orchestrator.errors', 'orchestrator.settings'])"
    ]


def test_the_checker_reports_type_checking_imports_and_comfyui_in_the_node_pack(
    tmp_path: Path,
) -> None:
    _write_tree(
        tmp_path,
        {
            "comfy_nodes/__init__.py": "",
            "comfy_nodes/pixel/__init__.py": "",
            "comfy_nodes/pixel/grid.py": (
                "import numpy\nimport folder_paths\nfrom typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from engine.runner import start_engine\n"
            ),
        },
    )
    found = [(v.found.line, v.found.target) for v in check(tmp_path, ("comfy_nodes", "engine"))]
    assert found == [(2, "folder_paths"), (5, "engine.runner")]


def test_orchestrator_code_reaches_the_engine_only_through_its_public_api(tmp_path: Path) -> None:
    _write_tree(
        tmp_path,
        {
            "orchestrator/__init__.py": "",
            "orchestrator/composition.py": (
                "from engine import start_engine\nfrom engine.models import cache\n"
            ),
            "orchestrator/adapters/__init__.py": "",
            "orchestrator/adapters/cli/__init__.py": "",
            "orchestrator/adapters/cli/run.py": "from engine import start_engine\n",
            "engine/__init__.py": "",
            "engine/models/__init__.py": "",
            "engine/models/cache.py": "",
        },
    )
    found = [str(v.found.path) + f":{v.found.line}" for v in check(tmp_path)]
    assert found == ["orchestrator/adapters/cli/run.py:1", "orchestrator/composition.py:2"]
