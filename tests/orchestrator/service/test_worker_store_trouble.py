"""No silent stall: workers outlive a locked, full or vanished job store and say so in health.

Each fault is real where it can be: a second process holds `BEGIN EXCLUSIVE` on the job
database, a tiny tmpfs fills up under the outputs folder, the database file is deleted or
replaced on disk. Only the store's own ENOSPC is injected (a full disk under SQLite is not
something a test can aim at one write).
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fixtures.full_disk import fill, mounted_tmpfs
from service_testkit import FAST, MakeService, tiny_request

from orchestrator.errors import StoreError
from orchestrator.jobs.states import JobState
from orchestrator.jobs.store import JobStore
from orchestrator.service.health import Health

T = TypeVar("T")

# Holds the job database's write lock until a line arrives on stdin.
_LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
print("released", flush=True)
"""


def _poll(read: Callable[[], T], done: Callable[[T], bool], what: str, limit_s: float = 90) -> T:
    deadline = time.monotonic() + limit_s
    value = read()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value}")
        time.sleep(0.1)
        value = read()
    return value


def _degraded(health: Health) -> bool:
    return not health.ok


def test_a_store_locked_by_another_process_degrades_health_and_the_workers_survive(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url], workers=2)
    assert service.health().ok
    with subprocess.Popen(
        [sys.executable, "-c", _LOCKER, str(service.store.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as locker:
        assert locker.stdin is not None and locker.stdout is not None
        try:
            assert locker.stdout.readline().strip() == "locked"
            # Idle workers keep claiming: the first claim that gives up turns health degraded.
            health = _poll(service.health, _degraded, "health while the store is locked")
            assert str(health).startswith("degraded: job store locked since ")
            assert str(health).endswith("(database is locked)")
            assert [p.key for p in health.problems] == ["store"]
            locker.stdin.write("go\n")
            locker.stdin.flush()
            assert locker.stdout.readline().strip() == "released"
        finally:
            locker.kill()
    # Before the fix every worker thread had died of the lock: this job stayed queued.
    (job,) = service.submit(tiny_request())
    done = service.wait(job.id, 120)
    assert done.state is JobState.SUCCEEDED, done.error
    assert _poll(service.health, lambda h: h.ok, "health after the lock went").ok


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs (needs root); skipped where it cannot be mounted."""
    with mounted_tmpfs(tmp_path, "1m") as mount:
        yield mount


def test_a_full_output_disk_fails_the_job_clearly_and_the_worker_serves_the_retry(
    orch_engine: Any, make_service: MakeService, small_tmpfs: Path
) -> None:
    out = small_tmpfs / "outputs"
    out.mkdir()
    service = make_service([orch_engine.url], workers=1, output_dir=out)
    filler = fill(small_tmpfs)

    (job,) = service.submit(tiny_request())
    failed = service.wait(job.id, 120)
    assert failed.state is JobState.FAILED and failed.retryable
    assert failed.error is not None
    assert failed.error.startswith(f"disk full writing {out}")
    assert failed.error.endswith(f"free space, then `dgx-pixels jobs retry {job.id}`")
    assert service.list_jobs(JobState.RUNNING) == []

    filler.unlink()  # what the message asks for, then what it says to run
    service.retry(job.id)
    done = service.wait(job.id, 120)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.files and Path(done.files[0].sprite).is_file()


def test_disk_full_at_the_stores_write_fails_that_job_and_the_next_one_runs(
    orch_engine: Any, make_service: MakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service([orch_engine.url], workers=1)
    real = service.store.mark_succeeded
    calls: list[str] = []

    def full_once(job_id: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(job_id)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(service.store.path))
        return real(job_id, *args, **kwargs)

    monkeypatch.setattr(service.store, "mark_succeeded", full_once)
    first, second = service.submit(tiny_request(count=2))
    failed = service.wait(first.id, 120)
    assert failed.state is JobState.FAILED and failed.error is not None
    assert failed.error == (
        f"disk full writing {service.store.path}: free space, then "
        f"`dgx-pixels jobs retry {first.id}`"
    )
    assert service.wait(second.id, 120).state is JobState.SUCCEEDED
    assert service.list_jobs(JobState.RUNNING) == []


def test_a_deleted_job_database_is_reported_and_no_job_is_queued_into_it(
    orch_engine: Any, make_service: MakeService, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service([orch_engine.url], workers=1)
    caplog.set_level(logging.ERROR, logger="orchestrator.service.worker_pool")
    service.store.path.unlink()

    health = _poll(service.health, _degraded, "health after the database was deleted")
    assert str(health).startswith("degraded: job store file deleted since ")
    assert str(service.store.path) in str(health)
    assert any("job store file deleted" in r.getMessage() for r in caplog.records)
    with pytest.raises(StoreError, match="job store file deleted"):
        service.submit(tiny_request())


def test_a_replaced_job_database_is_reported(
    orch_engine: Any, make_service: MakeService, tmp_path: Path
) -> None:
    service = make_service([orch_engine.url], workers=1)
    other = tmp_path / "restored.sqlite3"
    JobStore(other).close()  # a valid job database, but not the file the daemon opened
    os.replace(other, service.store.path)

    health = _poll(service.health, _degraded, "health after the database was replaced")
    assert str(health).startswith("degraded: job store file replaced since ")
    with pytest.raises(StoreError, match="job store file replaced"):
        service.submit(tiny_request())


@pytest.mark.parametrize(
    ("step", "seed"), [("mark_submitted", 901), ("mark_running", 902), ("set_progress", 903)]
)
def test_a_store_error_mid_job_is_retried_and_the_job_resumed_to_success(
    orch_engine: Any,
    make_service: MakeService,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    step: str,
    seed: int,
) -> None:
    service = make_service([orch_engine.url], workers=1)
    real = getattr(service.store, step)
    calls: list[str] = []

    def locked_once(job_id: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(job_id)
        if len(calls) == 1:  # what the store raises when another process holds the lock
            cause = sqlite3.OperationalError("database is locked")
            raise StoreError(f"database={str(service.store.path)!r}: {cause}") from cause
        return real(job_id, *args, **kwargs)

    monkeypatch.setattr(service.store, step, locked_once)
    caplog.set_level(logging.WARNING, logger="orchestrator.service.worker_pool")
    # A seed and step count of its own: the engine runs it (no cached result), with progress.
    params = {**FAST, "steps": 3}
    (job,) = service.submit(tiny_request(seed=seed, params=params))
    done = service.wait(job.id, 120)
    assert done.state is JobState.SUCCEEDED, done.error
    assert calls  # the fault was met (then the step was retried, or the job re-attached)
    assert any("job store locked" in r.getMessage() for r in caplog.records)
    assert _poll(service.health, lambda h: h.ok, "health once the store works").ok


def test_an_unexpected_error_while_claiming_is_logged_and_the_worker_keeps_serving(
    orch_engine: Any,
    make_service: MakeService,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = make_service([orch_engine.url], workers=1)
    real = service.store.claim_next_queued
    calls: list[str] = []

    def broken_once(*args: Any, **kwargs: Any) -> Any:
        calls.append("claim")
        if len(calls) == 1:
            raise RuntimeError("a bug in claiming")
        return real(*args, **kwargs)

    monkeypatch.setattr(service.store, "claim_next_queued", broken_once)
    caplog.set_level(logging.ERROR, logger="orchestrator.service.worker_pool")
    (job,) = service.submit(tiny_request(seed=904))
    assert service.wait(job.id, 120).state is JobState.SUCCEEDED
    (record,) = [r for r in caplog.records if "still serving" in r.getMessage()]
    assert record.exc_info is not None and "a bug in claiming" in str(record.exc_info[1])
