"""Atomic writes that Bevy's file watcher reports as a new or modified file.

Bevy (through `notify`) reloads an asset on create/modify events for its path. A file
written to a temp name *inside* `assets/` and renamed is reported as a rename pair and is
not reloaded, and a file written in place can be read half-written. So every file is
written to the project's staging folder (outside `assets/`, same filesystem), fsynced and
then `os.replace`d onto its final name: inotify reports a lone `IN_MOVED_TO` in `assets/`,
which `notify` turns into a create event, and readers only ever see whole files.
"""

from __future__ import annotations

import os
from pathlib import Path

from comfy_nodes.pixel import atomic
from orchestrator.deploy.errors import DeployError, UnsafeDestinationError

__all__ = ["ensure_folder", "write_atomic"]


def ensure_folder(folder: Path, inside: Path) -> None:
    """Create `folder` if needed, never through a link that leads out of `inside`.

    The deepest existing ancestor is checked before anything is created (so a linked
    `.dgx-pixels/` or `assets/` subfolder cannot make us create folders elsewhere), and
    the folder itself after.

    Raises:
        UnsafeDestinationError: the folder (or an ancestor) resolves outside `inside`.
        DeployError: the folder cannot be created.
    """
    _check_inside(_deepest_existing(folder), folder, inside)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DeployError(f"folder={str(folder)!r} cannot be created: {exc}") from exc
    _check_inside(folder, folder, inside)


def _deepest_existing(path: Path) -> Path:
    """`path` or its nearest ancestor that exists (a dangling link counts as existing)."""
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _check_inside(candidate: Path, folder: Path, inside: Path) -> None:
    real = candidate.resolve()
    if not real.is_relative_to(inside):
        raise UnsafeDestinationError(
            f"folder={str(folder)!r} resolves to {real}, outside {inside}; "
            "remove the link or deploy elsewhere."
        )


def write_atomic(final: Path, data: bytes, staging_dir: Path) -> None:
    """Write `data` to `final` by staging it in `staging_dir` and renaming it into place.

    The file gets the umask's permissions (0644 under umask 022), or keeps the mode of the
    file it replaces, like every file the project writes (`comfy_nodes.pixel.atomic`).

    Args:
        final: Destination path; its folder must exist.
        data: The whole file content.
        staging_dir: An existing folder outside the watched tree, on the same filesystem
            as `final`.

    Raises:
        DeployError: the staging folder is on another filesystem (a rename would not be
            atomic), or the write itself failed.
    """
    if os.stat(staging_dir).st_dev != os.stat(final.parent).st_dev:
        raise DeployError(
            f"staging folder {staging_dir} and destination {final.parent} are on different "
            "filesystems, so the file cannot be renamed into place atomically; keep the "
            "project's .dgx-pixels/ folder and assets/ on one filesystem."
        )
    try:
        atomic.write_atomic(final, data, temp_dir=staging_dir)
    except OSError as exc:
        raise DeployError(f"writing {final} failed: {exc}; nothing was replaced.") from exc
