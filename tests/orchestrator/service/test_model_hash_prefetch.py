"""Model hashes are read in the background (`FileHasher.prefetch`), never on a job's path:
prefetch returns while the file is still being read, and a later `sha256` shares that read.

A named pipe stands in for a big checkpoint: reading it blocks until the test writes, so
"prefetch did not wait" is shown by the order of events, not by a clock."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from orchestrator.service.outputs import FileHasher

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")


def _feed(pipe: Path, data: bytes) -> None:
    stamp = pipe.stat().st_mtime_ns
    with pipe.open("wb") as writer:  # blocks until the hasher opens the pipe for reading
        writer.write(data)
        writer.flush()
        # Writing moved the pipe's mtime; put it back before the reader sees the end, as
        # an unchanged checkpoint file would keep it (the cache is keyed by size and mtime).
        os.utime(pipe, ns=(stamp, stamp))


def test_prefetch_returns_before_the_file_is_read_and_sha256_shares_its_digest(
    tmp_path: Path,
) -> None:
    pipe, cache = tmp_path / "big.safetensors", tmp_path / "model_hashes.json"
    os.mkfifo(pipe)
    hasher = FileHasher(cache)

    hasher.prefetch([pipe])  # the background reader now waits for a writer
    writer = threading.Thread(target=_feed, args=(pipe, b"weights" * 1000), daemon=True)
    writer.start()
    digest = hasher.sha256(pipe)  # a second read of the pipe would block for ever
    writer.join(30)

    assert digest == hashlib.sha256(b"weights" * 1000).hexdigest()
    files = json.loads(cache.read_text())["files"]
    assert files[str(pipe.resolve())][2] == digest


def test_prefetch_skips_missing_and_cached_files(tmp_path: Path) -> None:
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"abc")
    hasher = FileHasher()
    first = hasher.sha256(model)

    hasher.prefetch([tmp_path / "missing.safetensors", model])

    assert hasher.sha256(tmp_path / "missing.safetensors") == ""
    assert hasher.sha256(model) == first == hashlib.sha256(b"abc").hexdigest()
