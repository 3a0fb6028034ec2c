"""Atomic writes that Bevy's file watcher reports as a new or modified file.

Bevy (through `notify`) reloads an asset on create/modify events for its path. A file
written to a temp name *inside* `assets/` and renamed is reported as a rename pair and is
not reloaded, and a file written in place can be read half-written. So every file is
written to the project's staging folder (outside `assets/`, same filesystem), fsynced and
then `os.replace`d onto its final name: inotify reports a lone `IN_MOVED_TO` in `assets/`,
which `notify` turns into a create event, and readers only ever see whole files.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

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


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a crash must not lose the new directory entry)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(final: Path, data: bytes, staging_dir: Path, mode: int = 0o644) -> None:
    """Write `data` to `final` by staging it in `staging_dir` and renaming it into place.

    Args:
        final: Destination path; its folder must exist.
        data: The whole file content.
        staging_dir: An existing folder outside the watched tree, on the same filesystem
            as `final`.
        mode: Permission bits of the new file (temp files start as 0600).

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
    fd, tmp_name = tempfile.mkstemp(dir=staging_dir, prefix=f".{final.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, final)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise DeployError(f"writing {final} failed: {exc}; nothing was replaced.") from exc
    _fsync_dir(final.parent)
