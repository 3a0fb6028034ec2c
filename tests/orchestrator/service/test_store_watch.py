"""Events for jobs another process runs: the watcher sees only what its polls see."""

from __future__ import annotations

import threading
from pathlib import Path

from orchestrator.jobs import JobStore, NewJob
from orchestrator.service.job_events import EventHub, JobEvent, JobEventKind
from orchestrator.service.store_watch import StoreWatcher


def _watch(tmp_path: Path) -> tuple[JobStore, list[JobEvent], threading.Event, StoreWatcher]:
    store = JobStore(tmp_path / "jobs.sqlite3")
    hub = EventHub()
    seen: list[JobEvent] = []
    finished = threading.Event()

    def record(event: JobEvent) -> None:
        seen.append(event)
        if event.kind in (JobEventKind.SUCCEEDED, JobEventKind.FAILED):
            finished.set()

    hub.subscribe(record)
    watcher = StoreWatcher(store, hub, interval_s=0.05)
    return store, seen, finished, watcher


def test_a_job_that_runs_between_two_polls_still_reports_started(tmp_path: Path) -> None:
    store, seen, finished, watcher = _watch(tmp_path)
    (job,) = store.create([NewJob("single_sprite", {"prompt": "coin"}, 1)])
    watcher.start()  # baseline: queued
    try:
        # The whole run happens inside one poll interval.
        store.mark_submitted(job.id, "p-1", "http://127.0.0.1:1")
        store.mark_running(job.id)
        store.mark_succeeded(job.id, [])
        assert finished.wait(5)
    finally:
        watcher.stop()
        store.close()
    assert [e.kind for e in seen] == [JobEventKind.STARTED, JobEventKind.SUCCEEDED]


def test_a_job_collected_without_running_reports_no_start(tmp_path: Path) -> None:
    # After a crash a finished prompt is collected from /history: it never ran here.
    store, seen, finished, watcher = _watch(tmp_path)
    (job,) = store.create([NewJob("single_sprite", {"prompt": "coin"}, 1)])
    watcher.start()
    try:
        store.mark_submitted(job.id, "p-1", "http://127.0.0.1:1")
        store.mark_succeeded(job.id, [])
        assert finished.wait(5)
    finally:
        watcher.stop()
        store.close()
    assert [e.kind for e in seen] == [JobEventKind.SUCCEEDED]
