"""ComfyUI's `extra_model_paths.yaml`: more folders to find models in, read as ComfyUI reads it.

The file holds named sections (`a1111:`, `comfyui:`…). In each, `base_path` (optional;
`~` and `$VARS` expanded; relative to the yaml file's folder) prefixes every entry,
`is_default: true` puts the section's folders *before* the engine's own, and every other
key is a model folder name (`checkpoints`, `loras`, …; the legacy `unet` / `clip` mean
`diffusion_models` / `text_encoders`) whose value is one path or a block of paths, one per
line. An entry without a `base_path` is relative to the yaml file's folder. This follows
ComfyUI's `utils/extra_config.py: load_extra_path_config` and
`folder_paths.add_model_folder_path` (ordering, the move-to-front of a repeated default).

Where ComfyUI would crash on a malformed file (a list where a path belongs, a section that
is not a mapping), `load_extra_model_paths` raises `ExtraModelPathsError` naming the file,
the section and the key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ExtraModelPathsError

__all__ = [
    "YAML_NAME",
    "ExtraModelPaths",
    "FolderEntry",
    "load_extra_model_paths",
    "read_extra_model_paths",
]

log = logging.getLogger(__name__)

YAML_NAME = "extra_model_paths.yaml"
# folder_paths.map_legacy: the folder names ComfyUI renamed.
_LEGACY_NAMES = {"unet": "diffusion_models", "clip": "text_encoders"}
_RESERVED = ("base_path", "is_default")


@dataclass(frozen=True)
class FolderEntry:
    """One path a yaml file adds to a model folder, in file order."""

    folder: str
    path: Path
    is_default: bool
    source: Path


@dataclass(frozen=True)
class ExtraModelPaths:
    """Every entry of the yaml files read, in the order ComfyUI applies them."""

    entries: tuple[FolderEntry, ...] = ()

    @property
    def folders(self) -> tuple[str, ...]:
        """The folder names the files mention, first mention first."""
        return tuple(dict.fromkeys(e.folder for e in self.entries))

    def arrange(self, folder: str, own: Iterable[Path]) -> tuple[Path, ...]:
        """`folder`'s search list: the engine's `own` folders with the yaml entries added
        as ComfyUI adds them (appended; `is_default` ones put first)."""
        paths = list(own)
        for entry in self.entries:
            if entry.folder != folder:
                continue
            if entry.path in paths:
                if entry.is_default and paths[0] != entry.path:
                    paths.remove(entry.path)
                    paths.insert(0, entry.path)
            elif entry.is_default:
                paths.insert(0, entry.path)
            else:
                paths.append(entry.path)
        return tuple(paths)

    def __add__(self, other: ExtraModelPaths) -> ExtraModelPaths:
        return ExtraModelPaths(self.entries + other.entries)


def _where(source: Path, section: str, key: str | None = None) -> str:
    return f"{source}: section {section!r}" + (f", key {key!r}" if key is not None else "")


def _base_path(conf: dict[str, Any], source: Path, section: str) -> Path | None:
    value = conf.get("base_path")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ExtraModelPathsError(
            f"{_where(source, section, 'base_path')}: expected a folder path, got {value!r}"
        )
    expanded = os.path.expandvars(os.path.expanduser(value))
    return Path(os.path.abspath(os.path.join(source.parent, expanded)))


def _is_default(conf: dict[str, Any], source: Path, section: str) -> bool:
    value = conf.get("is_default", False)
    if not isinstance(value, bool):
        raise ExtraModelPathsError(
            f"{_where(source, section, 'is_default')}: expected true or false, got {value!r}"
        )
    return value


def _section(source: Path, section: str, conf: Any) -> list[FolderEntry]:
    """The entries of one section (None, like ComfyUI, adds nothing)."""
    if conf is None:
        return []
    if not isinstance(conf, dict):
        raise ExtraModelPathsError(
            f"{_where(source, section)}: expected a mapping of folder names to paths, "
            f"got {type(conf).__name__} {conf!r:.60}"
        )
    base = _base_path(conf, source, section)
    is_default = _is_default(conf, source, section)
    entries: list[FolderEntry] = []
    for key, value in conf.items():
        if key in _RESERVED:
            continue
        if not isinstance(value, str):
            raise ExtraModelPathsError(
                f"{_where(source, section, str(key))}: expected a path, or several paths one "
                f"per line (a `|` block), got {type(value).__name__} {value!r:.60}"
            )
        for line in value.split("\n"):
            if not line:
                continue
            full = os.path.join(base, line) if base else os.path.join(source.parent, line)
            path = Path(os.path.normpath(os.path.abspath(full)))
            folder = _LEGACY_NAMES.get(str(key), str(key))
            entries.append(FolderEntry(folder, path, is_default, source))
            log.info("extra model path %s: %s (%s)", folder, path, source.name)
    return entries


def read_extra_model_paths(text: str, source: Path) -> ExtraModelPaths:
    """Parse the yaml `text` of the file `source` (its folder anchors relative paths).

    Raises:
        ExtraModelPathsError: Not yaml, not a mapping of sections, or a malformed section
            or key; the message names the file, the section and the key.
    """
    import yaml

    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ExtraModelPathsError(f"{source}: not valid YAML ({exc})") from exc
    if config is None:
        return ExtraModelPaths()
    if not isinstance(config, dict):
        raise ExtraModelPathsError(
            f"{source}: expected sections (name: mapping of folder names to paths) at the top "
            f"level, got {type(config).__name__}"
        )
    entries: list[FolderEntry] = []
    for section, conf in config.items():
        entries.extend(_section(source, str(section), conf))
    return ExtraModelPaths(tuple(entries))


def load_extra_model_paths(files: Iterable[Path]) -> ExtraModelPaths:
    """Read each yaml file in turn (later files add after earlier ones).

    Raises:
        ExtraModelPathsError: A file is missing or unreadable, or malformed (see
            `read_extra_model_paths`).
    """
    result = ExtraModelPaths()
    for file in files:
        source = Path(os.path.abspath(Path(file).expanduser()))
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ExtraModelPathsError(
                f"extra model paths file {str(source)!r} cannot be read ({exc})"
            ) from exc
        result = result + read_extra_model_paths(text, source)
    return result
