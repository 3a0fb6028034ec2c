"""JobBook: the snapshot + seq rules of docs/zmq-protocol.md §9."""

from __future__ import annotations

from orchestrator.adapters.tui.book import Applied, JobBook
from orchestrator.wire.zmq_protocol import (
    HeartbeatEvent,
    JobPreviewEvent,
    JobProgressEvent,
    SnapshotResult,
    WireJob,
)


def _job(
    job_id: str, state: str = "queued", progress: tuple[int, int] = (0, 0), t: float = 1.0
) -> WireJob:
    return WireJob(
        id=job_id, state=state, template="single_sprite", seed=1, created_at=t, progress=progress
    )


def _progress(seq: int, job_id: str = "a", value: int = 1) -> JobProgressEvent:
    job = _job(job_id, "running", (value, 4))
    return JobProgressEvent(seq=seq, time=0.0, job_id=job_id, job=job, value=value, max=4)


def _book(seq: int = 5) -> JobBook:
    book = JobBook()
    book.load(SnapshotResult(epoch="e1", seq=seq, server_time=0.0, jobs=[_job("a")]))
    return book


def test_events_before_any_snapshot_ask_for_one() -> None:
    assert JobBook().apply(_progress(1)) is Applied.GAP


def test_events_already_in_the_snapshot_are_ignored() -> None:
    book = _book(seq=5)
    assert book.apply(_progress(5, value=3)) is Applied.STALE
    assert book.jobs["a"].state == "queued"


def test_the_next_seq_is_applied_and_replaces_the_job() -> None:
    book = _book(seq=5)
    assert book.apply(_progress(6, value=3)) is Applied.APPLIED
    assert (book.seq, book.jobs["a"].progress) == (6, (3, 4))


def test_a_skipped_seq_is_a_gap_and_changes_nothing() -> None:
    book = _book(seq=5)
    assert book.apply(_progress(7)) is Applied.GAP
    assert book.seq == 5 and book.jobs["a"].state == "queued"


def test_heartbeats_detect_missed_events_and_daemon_restarts() -> None:
    book = _book(seq=5)
    assert book.apply(HeartbeatEvent(epoch="e1", seq=5, time=0.0)) is Applied.ALIVE
    assert book.apply(HeartbeatEvent(epoch="e1", seq=6, time=0.0)) is Applied.GAP
    assert book.apply(HeartbeatEvent(epoch="e2", seq=0, time=0.0)) is Applied.GAP


def test_preview_image_is_kept_for_its_job() -> None:
    book = _book(seq=0)
    event = JobPreviewEvent(seq=1, time=0.0, job_id="a", job=_job("a", "running"), image_size=3)
    assert book.apply(event, b"png") is Applied.APPLIED
    assert book.previews == {"a": b"png"}


def test_ordering_and_gallery_pick_newest_succeeded_with_outputs() -> None:
    book = JobBook()
    old = _job("old", "succeeded", t=1.0).model_copy(update={"outputs": ["/x.png"]})
    new = _job("new", "succeeded", t=3.0).model_copy(update={"outputs": ["/y.png"]})
    book.load(
        SnapshotResult(epoch="e", seq=0, server_time=0.0, jobs=[old, _job("mid", t=2.0), new])
    )
    assert [j.id for j in book.ordered()] == ["new", "mid", "old"]
    assert [j.id for j in book.recent_outputs()] == ["new", "old"]
