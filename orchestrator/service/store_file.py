"""`StoreFileGuard`: notice the job database being deleted or replaced under a running process.

SQLite keeps writing through its open file descriptor: after `rm jobs.sqlite3` (or a restore
that swaps the file), a daemon would go on recording jobs into a file nobody can open again.
The guard remembers the file's identity (device, inode) when the store is opened and
compares it with what the path names now.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StoreFileGuard", "StoreFileProblem"]


@dataclass(frozen=True)
class StoreFileProblem:
    """What happened to the file, for health and the log."""

    summary: str
    detail: str


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


class StoreFileGuard:
    """Compare the job database's path with the file the store opened.

    Args:
        path: The database file, already opened by the store (so it exists now).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.identity = _identity(self.path)

    def problem(self) -> StoreFileProblem | None:
        """None while the path still names the opened file; else what changed."""
        try:
            now = _identity(self.path)
        except OSError as exc:  # e.g. the folder became unreadable
            return StoreFileProblem("job store file unreadable", f"{self.path}: {exc}")
        if now is None:
            return StoreFileProblem(
                "job store file deleted",
                f"{self.path} is gone; jobs recorded now would be lost: put it back or "
                "restart the daemon (it starts a new, empty job store)",
            )
        if self.identity is not None and now != self.identity:
            return StoreFileProblem(
                "job store file replaced",
                f"{self.path} is another file than the one this daemon opened; restart the "
                "daemon to use the new one",
            )
        return None
