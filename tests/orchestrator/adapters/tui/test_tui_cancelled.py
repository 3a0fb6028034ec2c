"""A cancelled job reads "cancelled" in the TUI, never "running 100 %".

Against the real daemon stack (bridge over the real Service over the tiny engine), driven
with Textual's pilot; and the book rule that makes it hold whatever order events come in.
"""

from __future__ import annotations

import asyncio

from orchestrator.adapters.tui.app import PixelsApp
from orchestrator.adapters.tui.book import Applied, JobBook
from orchestrator.adapters.tui.daemon_client import DaemonClient
from orchestrator.adapters.tui.graphics import GraphicsMode
from orchestrator.adapters.tui.widgets import JobItem, JobList, StepBar
from orchestrator.adapters.zmq.bridge import ZmqBridge
from orchestrator.service import JobState, Service
from orchestrator.settings import Settings
from orchestrator.wire.zmq_events import JobCancelledEvent, JobProgressEvent
from orchestrator.wire.zmq_protocol import SnapshotResult, SubmitRequest, WireJob

SLOW = {"steps": 150, "width": 64, "height": 64, "checkpoint": "tiny_sdxl.safetensors"}


async def _until(cond, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_cancelling_a_running_job_shows_it_cancelled(
    real_bridge: ZmqBridge, real_service: Service, bridge_settings: Settings
) -> None:
    client = DaemonClient(bridge_settings.zmq_router, bridge_settings.zmq_pub, timeout_s=20)
    app = PixelsApp(client, GraphicsMode.HALFCELL)
    async with app.run_test(size=(140, 45)) as pilot:
        await _until(lambda: app.connected)
        result, _ = await client.request(SubmitRequest(prompt="slow", seed=1, params=SLOW))
        job_id = result.jobs[0].id
        await _until(lambda: len(list(app.query(JobItem))) == 1)
        app.query_one(JobList).focus()
        real_service.start()
        await _until(lambda: app.book.jobs[job_id].progress[0] > 0, timeout_s=120)
        await pilot.press("c")
        await _until(lambda: real_service.get_job(job_id).state.value == "cancelled")
        await _until(lambda: app.book.jobs[job_id].state == "cancelled")
        await asyncio.sleep(1.0)  # late progress events from the backend must not undo it
        await pilot.pause()
        row = app.query_one(JobList).row(job_id)
        assert row is not None
        assert row.job.state == "cancelled"
        label = str(row.query_one(".job-label").render())
        assert label.startswith("cancelled")
        bar = str(row.query_one(StepBar).render())
        assert "cancelled" in bar and "%" not in bar


def _job(state: str, progress: tuple[int, int] = (0, 0)) -> WireJob:
    return WireJob(
        id="a" * 32,
        state=JobState(state),
        template="single_sprite",
        prompt="p",
        seed=1,
        created_at=1.0,
        progress=progress,
    )


def test_a_progress_event_after_the_cancel_does_not_bring_the_job_back_to_running() -> None:
    book = JobBook()
    book.load(SnapshotResult(epoch="e", seq=1, server_time=0.0, jobs=[_job("running", (3, 20))]))
    job_id = "a" * 32
    cancelled = JobCancelledEvent(seq=2, time=2.0, job_id=job_id, job=_job("cancelled", (3, 20)))
    late = JobProgressEvent(
        seq=3, time=3.0, job_id=job_id, job=_job("running", (20, 20)), value=20, max=20
    )
    assert book.apply(cancelled) is Applied.APPLIED
    assert book.apply(late) is Applied.APPLIED
    assert book.jobs[job_id].state == "cancelled"
    book.upsert(_job("queued"))  # a retry does bring it back
    assert book.jobs[job_id].state == "queued"
