"""sha256 of model files for provenance, cached by (path, mtime, size) so big files hash once."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["FileHasher"]

_CHUNK = 16 * 1024 * 1024


class FileHasher:
    """Hashes files and remembers each result until the file changes."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, int], str] = {}

    def sha256(self, path: Path) -> str:
        """Hex sha256 of the file's bytes.

        Raises:
            FileNotFoundError: `path` does not exist.
        """
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if key not in self._known:
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
            self._known[key] = digest.hexdigest()
        return self._known[key]
