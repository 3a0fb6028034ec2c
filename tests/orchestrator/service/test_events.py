"""The event hub: strictly increasing seq across threads, unsubscribe, a bad subscriber."""

from __future__ import annotations

import threading

import pytest

from orchestrator.service.job_events import EventHub, JobEvent, JobEventKind


def test_seq_increases_by_one_in_delivery_order_across_threads() -> None:
    hub = EventHub()
    got: list[int] = []
    hub.subscribe(lambda e: got.append(e.seq))

    def publish() -> None:
        for _ in range(200):
            hub.publish(JobEventKind.PROGRESS, "j", value=1, maximum=2)

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == list(range(1, 801))


def test_unsubscribe_stops_delivery_and_is_idempotent() -> None:
    hub = EventHub()
    got: list[JobEvent] = []
    unsubscribe = hub.subscribe(got.append)
    hub.publish(JobEventKind.QUEUED, "a")
    unsubscribe()
    unsubscribe()
    hub.publish(JobEventKind.QUEUED, "b")
    assert [e.job_id for e in got] == ["a"]


def test_a_raising_subscriber_does_not_starve_the_others(caplog: pytest.LogCaptureFixture) -> None:
    hub = EventHub()
    got: list[str] = []

    def broken(event: JobEvent) -> None:
        raise RuntimeError("subscriber bug")

    hub.subscribe(broken)
    hub.subscribe(lambda e: got.append(e.job_id))
    event = hub.publish(JobEventKind.FAILED, "x", message="boom")
    assert got == ["x"] and event.message == "boom" and event.seq == 1
    assert "subscriber" in caplog.text
