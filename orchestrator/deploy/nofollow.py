"""Open files inside a project without following symbolic links, at any level.

`open(path)` follows a link in any component: a `.dgx-pixels` folder or a `deploy.lock`
that someone replaced by a link would make a deploy create, lock or read a file elsewhere.
`open_nofollow` walks from the project root one component at a time with `openat`
(`O_NOFOLLOW` on each), so no link below `inside` is ever followed, and a link found is
refused with the path that is a link.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from orchestrator.deploy.errors import DeployError, UnsafeDestinationError

__all__ = ["open_nofollow", "read_nofollow"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _link_refusal(path: Path) -> UnsafeDestinationError:
    return UnsafeDestinationError(
        f"path={str(path)!r} is a symbolic link (or not a plain file/folder); deploys never "
        "follow links in a project's .dgx-pixels/ folder or deploy manifest; remove the link."
    )


def _parts_below(path: Path, inside: Path) -> tuple[str, ...]:
    try:
        return path.relative_to(inside).parts
    except ValueError as exc:
        raise UnsafeDestinationError(f"path={str(path)!r} is not inside {inside}") from exc


def open_nofollow(path: Path, inside: Path, flags: int, mode: int = 0o644) -> int:
    """A file descriptor for `path`, opened without following any link below `inside`.

    Args:
        path: The file, somewhere below `inside`.
        inside: The trusted folder (the project root); it itself may be reached via links.
        flags: `os.open` flags for the file (`O_NOFOLLOW` is added).
        mode: Permission bits when the file is created.

    Raises:
        UnsafeDestinationError: A component of `path` below `inside` is a link, naming it.
        FileNotFoundError: A folder on the way or the file (without `O_CREAT`) is missing.
        DeployError: Any other OS error, naming the path.
    """
    parts = _parts_below(path, inside)
    if not parts:
        raise UnsafeDestinationError(f"path={str(path)!r} names the folder {inside} itself")
    current = inside
    fd = os.open(inside, _DIR_FLAGS & ~os.O_NOFOLLOW)
    try:
        for part in parts[:-1]:
            current = current / part
            next_fd = _step(current, partial(os.open, part, _DIR_FLAGS, dir_fd=fd))
            os.close(fd)
            fd = next_fd
        flags |= os.O_NOFOLLOW | os.O_CLOEXEC
        return _step(path, partial(os.open, parts[-1], flags, mode, dir_fd=fd))
    finally:
        os.close(fd)


def _step(path: Path, opener: Callable[[], int]) -> int:
    try:
        return opener()
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) or os.path.islink(path):
            raise _link_refusal(path) from exc
        raise DeployError(f"path={str(path)!r} cannot be opened: {exc}") from exc


def read_nofollow(path: Path, inside: Path) -> bytes | None:
    """The whole content of `path` (None when it does not exist), links refused as above."""
    try:
        fd = open_nofollow(path, inside, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()
