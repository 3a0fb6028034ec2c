"""The orchestrator's public surface is explicit (HOUSE_STYLE 10, after httpx's
`test_exported_members.py`): every module that defines something declares `__all__`, and
every name in it exists. The module list is walked from the package, never written down.
The engine's public API (what orchestrator code may use, see tests/test_layering.py)
resolves lazily: `import engine` loads no torch.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import orchestrator

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(orchestrator.__path__, "orchestrator.")
    if not info.name.endswith("__main__")
)


def _own_definitions(module: object) -> set[str]:
    name = getattr(module, "__name__", "")
    return {
        member
        for member, value in vars(module).items()
        if not member.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == name
    }


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_all_and_each_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        assert not _own_definitions(module), f"{name} defines names but has no __all__"
        return
    missing = [member for member in exported if not hasattr(module, member)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"


def test_the_engine_package_exports_its_public_api_lazily() -> None:
    script = (
        "import sys, engine\n"
        "assert 'torch' not in sys.modules, 'import engine loaded torch'\n"
        "missing = [n for n in engine.__all__ if getattr(engine, n, None) is None]\n"
        "assert not missing, missing\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
