"""orchestrator/errors.py's docstring draws every orchestrator error class, in one tree."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import orchestrator
import orchestrator.errors


def _orchestrator_error_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(orchestrator.__path__, "orchestrator."):
        module = importlib.import_module(info.name)
        for name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == info.name:
                found[f"{info.name}.{name}"] = value
    return found


def test_every_orchestrator_error_class_is_in_the_tree() -> None:
    doc = orchestrator.errors.__doc__ or ""
    classes = _orchestrator_error_classes()
    assert len(classes) > 30  # the walk did find the packages
    missing = [path for path, cls in classes.items() if cls.__name__ not in doc]
    assert missing == []


def test_the_named_families_hang_under_the_one_root() -> None:
    classes = {cls.__name__: cls for cls in _orchestrator_error_classes().values()}
    root = orchestrator.errors.DGXPixelsError
    for name in (
        "DeployError",
        "ComfyLinkError",
        "StoreError",
        "TuiError",
        "ProtocolError",
        "BridgeBindError",
        "DaemonRefused",
    ):
        assert issubclass(classes[name], root), name
