"""Asset names and where they may land: inside `<project>/assets/`, nowhere else.

An asset name is a relative POSIX path under `assets/` (`generated/potion.png`; a bare
`potion` means `generated/potion.png`). Names are checked twice: lexically (no `..`, no
absolute paths, only plain characters) and on disk (every existing component is resolved,
so a symlink that leads out of `assets/` is refused before anything is written).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from orchestrator.deploy.errors import UnsafeDestinationError
from orchestrator.deploy.projects import BevyProject

__all__ = ["DEFAULT_FOLDER", "MAX_DEPTH", "asset_name", "resolve_destination"]

DEFAULT_FOLDER = "generated"
MAX_DEPTH = 8
_MAX_NAME_CHARS = 200
# Plain names only: they must survive every OS, Bevy's AssetPath parser and a shell.
_COMPONENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


def _refuse(name: str, why: str) -> UnsafeDestinationError:
    return UnsafeDestinationError(
        f"name={name!r} {why}. Use a relative path under assets/ made of letters, digits, "
        f"'_', '-' and '.', e.g. 'generated/potion.png'."
    )


def _lexical_parts(name: str) -> list[str]:
    """Split `name` into checked components (no `..`, no absolute, no odd characters)."""
    if not name or len(name) > _MAX_NAME_CHARS:
        raise _refuse(name, f"must be 1..{_MAX_NAME_CHARS} characters long")
    if "\x00" in name or "\\" in name:
        raise _refuse(name, "contains a NUL byte or a backslash")
    if name.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", name):
        raise _refuse(name, "is an absolute path")
    parts = [p for p in name.split("/") if p]
    if parts and parts[0] == "assets":  # people often write the folder itself
        parts = parts[1:]
    if any(p in (".", "..") for p in parts):
        raise _refuse(name, "contains '.' or '..' components (path traversal)")
    if not parts:
        raise _refuse(name, "names no file")
    if len(parts) > MAX_DEPTH:
        raise _refuse(name, f"is nested deeper than {MAX_DEPTH} folders")
    for part in parts:
        if not _COMPONENT.match(part) or part.endswith("."):
            raise _refuse(name, f"has an unsupported component {part!r}")
    return parts


def asset_name(name: str, suffix: str = ".png") -> PurePosixPath:
    """The checked asset path relative to `assets/` for a user-given name.

    Args:
        name: What the caller asked for (`potion`, `generated/potion.png`, `ui/icon`).
        suffix: The only extension allowed; added when the name has none.

    Returns:
        A relative path such as `generated/potion.png`.

    Raises:
        UnsafeDestinationError: traversal, absolute path, odd characters, wrong extension.
    """
    parts = _lexical_parts(name)
    if len(parts) == 1:
        parts = [DEFAULT_FOLDER, *parts]
    rel = PurePosixPath(*parts)
    if not rel.suffix:
        rel = rel.with_suffix(suffix)
    if rel.suffix.lower() != suffix:
        raise _refuse(name, f"must end in {suffix!r} (got {rel.suffix!r})")
    return rel.with_suffix(suffix)


def _step(project: BevyProject, current: Path, part: str, name: str) -> Path:
    """Follow one component of the destination, refusing links that leave `assets/`."""
    candidate = current / part
    if candidate.is_symlink():
        target = candidate.resolve()
        if not target.is_relative_to(project.assets):
            raise _refuse(name, f"goes through the link {candidate} that points to {target}")
        return target
    return candidate


def resolve_destination(project: BevyProject, rel: PurePosixPath) -> Path:
    """The real on-disk path for `rel` inside `project.assets`, links checked.

    Every existing component is resolved; a link (or a link chain) that leads outside
    `assets/` is refused, as are a folder where a file is wanted, a file where a folder is
    wanted, and a final name that is itself a link.

    Raises:
        UnsafeDestinationError: the path would leave `assets/` or clashes with what exists.
    """
    name = str(rel)
    current = project.assets
    for part in rel.parts[:-1]:
        current = _step(project, current, part, name)
        if current.exists() and not current.is_dir():
            raise _refuse(name, f"needs {current} to be a folder, but it is a file")
    final = current / rel.parts[-1]
    if final.is_symlink():
        raise _refuse(name, f"names the link {final}; deploys never write through links")
    if final.is_dir():
        raise _refuse(name, f"names the folder {final}")
    if not final.resolve().is_relative_to(project.assets):
        raise _refuse(name, f"resolves to {final.resolve()}, outside {project.assets}")
    return final
