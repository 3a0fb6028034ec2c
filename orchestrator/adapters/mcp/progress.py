"""Waiting for a job inside an MCP tool call while forwarding its progress.

The service publishes events on its worker threads; they are handed to the tool's event
loop through a queue, and each `progress` event becomes an MCP progress notification.
The job is also polled once a second, so a missed event can never hang the call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from orchestrator.service import Job
from orchestrator.service.job_events import JobEvent, JobEventKind

if TYPE_CHECKING:
    from orchestrator.service import Service

__all__ = ["ProgressReporter", "await_job", "await_jobs"]

ProgressReporter = Callable[[float, float | None, str | None], Awaitable[None]]
_POLL_S = 1.0


async def await_job(
    service: Service, job_id: str, report: ProgressReporter, timeout_s: float
) -> Job:
    """Wait until the job is final or `timeout_s` passed; return its latest snapshot.

    Args:
        service: The service that runs the job.
        job_id: The job to follow.
        report: Called with (value, max, message) for each progress event.
        timeout_s: Give up waiting (the job keeps running) after this long.
    """
    return (await await_jobs(service, [job_id], report, timeout_s))[0]


async def await_jobs(
    service: Service, job_ids: list[str], report: ProgressReporter, timeout_s: float
) -> list[Job]:
    """Wait for several jobs; progress is reported as steps done over all of them."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[JobEvent] = asyncio.Queue()
    wanted = set(job_ids)

    def on_event(event: JobEvent) -> None:  # runs on a service worker thread
        if event.job_id in wanted and not loop.is_closed():
            loop.call_soon_threadsafe(events.put_nowait, event)

    unsubscribe = service.subscribe(on_event)
    try:
        jobs = {job_id: service.get_job(job_id) for job_id in job_ids}
        await _follow(service, jobs, events, report, loop.time() + timeout_s)
        return [jobs[job_id] for job_id in job_ids]
    finally:
        unsubscribe()


async def _follow(
    service: Service,
    jobs: dict[str, Job],
    events: asyncio.Queue[JobEvent],
    report: ProgressReporter,
    deadline: float,
) -> None:
    """Update `jobs` in place from events (and polls) until all are final or time is up."""
    loop = asyncio.get_running_loop()
    steps: dict[str, tuple[int, int]] = {}
    while not all(job.state.is_terminal for job in jobs.values()):
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        try:
            event = await asyncio.wait_for(events.get(), timeout=min(remaining, _POLL_S))
        except TimeoutError:
            for job_id in jobs:
                jobs[job_id] = service.get_job(job_id)
            continue
        if event.kind == JobEventKind.PROGRESS and event.max > 0:
            steps[event.job_id] = (event.value, event.max)
            done = sum(v for v, _ in steps.values())
            total = sum(m for _, m in steps.values())
            await report(
                float(done), float(total), f"job {event.job_id[:8]}: step {event.value}/{event.max}"
            )
        if event.job is not None:
            jobs[event.job_id] = event.job
        elif event.kind in (JobEventKind.SUCCEEDED, JobEventKind.FAILED, JobEventKind.CANCELLED):
            jobs[event.job_id] = service.get_job(event.job_id)
