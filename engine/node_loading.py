"""Custom-node pack loading, as ComfyUI's `nodes.load_custom_node` does it for the V1 API.

Each entry of each custom-nodes folder (a `*.py` file or a folder with `__init__.py`;
`.disabled` names and `__pycache__` skipped) is imported under its path name. Its
`NODE_CLASS_MAPPINGS` are registered (a name equal to a core node is ignored; between packs
the later wins) and `NODE_DISPLAY_NAME_MAPPINGS` merged. A pack that fails to import is
logged with its traceback and skipped; the import times are summarised at the end.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.graph.registry import NodeRegistry

__all__ = [
    "HOST_CORE_NODES",
    "LoadReport",
    "build_registry",
    "comfy_nodes_dir",
    "host_node_classes",
    "load_custom_node",
    "module_name",
]

logger = logging.getLogger(__name__)

# Core nodes that use no device: they only encode and write what they are given.
HOST_CORE_NODES = frozenset({"SaveImage", "PreviewImage"})


@dataclass
class LoadReport:
    """What loading found: classes, display names, modules, and per-pack import times."""

    classes: dict[str, type] = field(default_factory=dict)
    display_names: dict[str, str] = field(default_factory=dict)
    python_modules: dict[str, str] = field(default_factory=dict)
    import_times: list[tuple[float, str, bool]] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        """Packs that failed to import or had no mappings."""
        return [path for _, path, ok in self.import_times if not ok]


def comfy_nodes_dir() -> Path | None:
    """The folder of our `comfy_nodes` pack, found without importing it."""
    spec = importlib.util.find_spec("comfy_nodes")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def module_name(module_path: Path) -> str:
    """`foo` for `.../foo.py` and `.../foo/` (the `custom_nodes.<name>` in object_info)."""
    return module_path.stem if module_path.is_file() else module_path.name


def _import(module_path: Path) -> object:
    if module_path.is_file():
        sys_name = str(module_path.with_suffix(""))
        spec = importlib.util.spec_from_file_location(sys_name, module_path)
    else:
        sys_name = str(module_path).replace(".", "_x_")
        spec = importlib.util.spec_from_file_location(
            sys_name, module_path / "__init__.py", submodule_search_locations=[str(module_path)]
        )
    if spec is None or spec.loader is None:
        raise ImportError(f"no importable module at {module_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[sys_name] = module
    spec.loader.exec_module(module)
    return module


def load_custom_node(module_path: Path, report: LoadReport, ignore: Iterable[str]) -> bool:
    """Import one pack and register its nodes into `report`; False (logged) if it fails."""
    try:
        module = _import(module_path)
    except Exception as ex:  # any error inside a third-party pack must not stop the server
        logger.warning(traceback.format_exc())
        logger.warning("Cannot import %s module for custom nodes: %s", module_path, ex)
        return False
    mappings = getattr(module, "NODE_CLASS_MAPPINGS", None)
    if not isinstance(mappings, Mapping):
        logger.warning(
            "Skip %s module for custom nodes due to the lack of NODE_CLASS_MAPPINGS or "
            "NODES_LIST (need one).",
            module_path,
        )
        return False
    ignored = set(ignore)
    for name, node_class in mappings.items():
        if name in ignored:
            continue  # ComfyUI silently keeps the core node
        report.classes[name] = node_class
        report.python_modules[name] = f"custom_nodes.{module_name(module_path)}"
    display = getattr(module, "NODE_DISPLAY_NAME_MAPPINGS", None)
    if isinstance(display, Mapping):
        report.display_names.update({k: v for k, v in display.items() if k not in ignored})
    return True


def _pack_entries(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    entries = []
    for name in sorted(os.listdir(folder)):
        path = folder / name
        if name == "__pycache__" or name.endswith(".disabled"):
            continue
        if (path.is_file() and path.suffix == ".py") or (path / "__init__.py").is_file():
            entries.append(path)
    return entries


def _load_folder_entries(paths: Iterable[Path], report: LoadReport, core: set[str]) -> None:
    for module_path in paths:
        started = time.perf_counter()
        ok = load_custom_node(module_path, report, core)
        report.import_times.append((time.perf_counter() - started, str(module_path), ok))


def build_registry(
    core_classes: Mapping[str, type],
    core_display_names: Mapping[str, str],
    custom_node_dirs: Iterable[Path],
    extra_packs: Iterable[Path] = (),
) -> tuple[NodeRegistry, LoadReport]:
    """Core nodes plus every pack found in `custom_node_dirs` and the `extra_packs` folders.

    Args:
        core_classes: the engine's core nodes (their names cannot be overridden).
        core_display_names: display names of the core nodes.
        custom_node_dirs: folders whose entries are packs (like ComfyUI's `custom_nodes/`).
        extra_packs: pack folders loaded directly (our `comfy_nodes/`).
    """
    report = LoadReport()
    core = set(core_classes)
    _load_folder_entries(extra_packs, report, core)
    for folder in custom_node_dirs:
        _load_folder_entries(_pack_entries(Path(folder)), report, core)
    if report.import_times:
        lines = [
            f"{seconds:6.1f} seconds{'' if ok else ' (IMPORT FAILED)'}: {path}"
            for seconds, path, ok in sorted(report.import_times)
        ]
        logger.info("Import times for custom nodes:\n%s", "\n".join(lines))
    registry = NodeRegistry(
        classes={**core_classes, **report.classes},
        display_names={**report.display_names, **core_display_names},
        python_modules=dict(report.python_modules),
    )
    return registry, report


def host_node_classes(registry: NodeRegistry) -> frozenset[str]:
    """The classes that use no device: `HOST_CORE_NODES` and every node of our
    `comfy_nodes` pack (numpy only). Third-party packs are never assumed host-side."""
    ours = comfy_nodes_dir()
    pack = f"custom_nodes.{module_name(ours)}" if ours is not None else None
    return frozenset(
        name
        for name in registry.names()
        if name in HOST_CORE_NODES or (pack is not None and registry.python_module(name) == pack)
    )
