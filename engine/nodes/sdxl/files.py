"""Model-file combos for the loader nodes: list and resolve names like ComfyUI's folder_paths.

Names are paths relative to a model folder with `/` separators, sorted; they are rescanned
on every call so new files appear without a restart. Resolving refuses names that escape
their folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.errors import ModelLoadError

__all__ = ["MODEL_EXTENSIONS", "list_model_files", "resolve_model_file"]

MODEL_EXTENSIONS = (".safetensors",)


def list_model_files(folders: Iterable[Path]) -> list[str]:
    """Every model file under `folders` (recursive), as sorted relative names."""
    names: set[str] = set()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix.lower() in MODEL_EXTENSIONS:
                names.add(path.relative_to(folder).as_posix())
    return sorted(names)


def resolve_model_file(name: str, folders: Iterable[Path], kind: str) -> Path:
    """The file called `name` in the first folder that has it.

    Raises:
        ModelLoadError: No folder has it, or the name escapes its folder.
    """
    searched = []
    for folder in folders:
        root = folder.resolve()
        candidate = (root / name).resolve()
        if not candidate.is_relative_to(root):
            raise ModelLoadError(
                f"{kind} name {name!r} points outside {root}; use a name from the list"
            )
        if candidate.is_file():
            return candidate
        searched.append(str(root))
    raise ModelLoadError(f"{kind} {name!r} not found in {', '.join(searched) or 'no folders'}")
