"""The one way this project writes a file: whole or not at all, with normal permissions.

Every writer (pixel core, engine SaveImage and uploads, orchestrator outputs and catalog,
Bevy deploy, bench baselines) goes through here. Each file is written to a temp sibling,
fsynced, then `os.replace`d onto its name, so a reader or a crash sees the old file or the
new one, never half of either. Several files can be written all-or-nothing.

Permissions: `tempfile.mkstemp` makes 0600 files, which other users, web servers and
containers then cannot read. Temp files here are created with mode 0666 and the kernel
applies the process umask (0644 under the usual umask 022), exactly as `open(path, "w")`
would; replacing an existing regular file keeps that file's mode. Stdlib only, so the
orchestrator and the engine can use it without numpy.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = ["atomic_path", "write_atomic", "write_files_atomic", "write_folder_atomic"]

# A temp name must stay under NAME_MAX (255) however long the target's name is.
_MAX_STEM = 200


def write_atomic(path: str | os.PathLike[str], data: bytes, temp_dir: Path | None = None) -> Path:
    """Write `data` to `path` all at once; the parent folder is created if needed.

    Args:
        path: the destination file.
        data: the whole content.
        temp_dir: where the temp file is staged (default: `path`'s folder); it must be on
            the same filesystem as `path` for the rename to be atomic.

    Returns:
        The path written.

    Raises:
        IsADirectoryError: `path` is a folder.
        OSError: the write failed; `path` is untouched and no temp file is left.
    """
    target = Path(path)
    write_files_atomic({target: data}, temp_dir=temp_dir)
    return target


def write_files_atomic(files: Mapping[Path, bytes], temp_dir: Path | None = None) -> None:
    """Write several files all-or-nothing: each to a synced temp file, then all renamed.

    Args:
        files: destination path -> whole content.
        temp_dir: staging folder for every temp file (default: each target's folder).

    Raises:
        IsADirectoryError: a target is a folder; nothing has been written then.
        OSError: a write failed; no target has been touched and no temp file is left.
    """
    for path in files:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder; cannot write a file there")
    temps: dict[Path, Path] = {}
    try:
        # 1. Every file's content durably on disk under a temp name.
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            temps[path] = _write_temp(path, data, temp_dir or path.parent)
        # 2. Then the renames, which cannot fail for lack of space.
        for path, temp in temps.items():
            os.replace(temp, path)
    finally:
        # Whatever went wrong (disk full, interrupt), leave no temp file behind.
        for temp in temps.values():
            temp.unlink(missing_ok=True)
    # 3. The new directory entries survive a crash too.
    for folder in {path.parent for path in files}:
        _fsync_folder(folder)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temp file beside `path` for writers that cannot hand over bytes (a library that
    takes a file name, gigabytes streamed from a generator).

    The caller writes the yielded path (reopening it with "wb" keeps its mode); on a clean
    exit it is fsynced and renamed onto `path`; if the block raises, it is removed and
    `path` is untouched.

    Raises:
        IsADirectoryError: `path` is a folder.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a folder; cannot write a file there")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = _create_temp(target.parent, target.name)
    try:
        kept = _existing_mode(target)
        if kept is not None:
            os.fchmod(fd, kept)
    finally:
        os.close(fd)
    try:
        yield temp
        _fsync_file(temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_folder(target.parent)


def write_folder_atomic(files: Mapping[str, bytes], folder: Path) -> None:
    """Create `folder` holding `files` all at once: a reader sees no folder or all of it.

    The files are written into a temp folder beside `folder`, which is then renamed onto it.

    Args:
        files: file name (may hold subfolders) -> whole content.
        folder: the folder to create; it must not exist or be empty.

    Raises:
        OSError: a write failed or `folder` is not empty; nothing is left behind then.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name[:_MAX_STEM]}.", dir=folder.parent))
    try:
        write_files_atomic({staging / name: data for name, data in files.items()})
        if folder.is_dir():
            folder.rmdir()  # only an empty one: a rename cannot replace a folder otherwise
        os.replace(staging, folder)
        _fsync_folder(folder.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_temp(path: Path, data: bytes, folder: Path) -> Path:
    """`data` in a new synced file in `folder`, with the mode `path` should end up with."""
    fd, temp = _create_temp(folder, path.name)
    try:
        kept = _existing_mode(path)
        if kept is not None:
            os.fchmod(fd, kept)
        with os.fdopen(fd, "wb") as stream:
            fd = -1  # the stream owns (and closes) it now
            stream.write(data)
            stream.flush()
            # On disk before the rename: a crash cannot leave a renamed but empty file.
            os.fsync(stream.fileno())
    except BaseException:
        if fd >= 0:
            os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    return temp


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """A new, exclusive temp file; mode 0666 so the kernel applies the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        temp = folder / f".{name[:_MAX_STEM]}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue  # 2**-32 odds: draw another name


def _existing_mode(path: Path) -> int | None:
    """The permission bits of the regular file at `path`, or None (new file, or a link)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    # Not every filesystem (or OS) lets a folder be opened or synced; the data is synced.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
