"""Live rich progress bars for jobs, fed by `Service.subscribe` (shared by generate/batch).

One bar per job on the stderr console: sampler steps done of total, it/s and the ETA, so
stdout stays free for the results.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from orchestrator.service import Job, Service
from orchestrator.service.job_events import JobEvent, JobEventKind

__all__ = ["StepRateColumn", "follow_jobs"]

_FINAL = {JobEventKind.SUCCEEDED, JobEventKind.FAILED, JobEventKind.CANCELLED}


class StepRateColumn(ProgressColumn):
    """Sampler steps per second of one job (`-` until two progress events arrived)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("- it/s" if speed is None else f"{speed:.2f} it/s", style="progress.data.speed")


def _label(job: Job) -> str:
    prompt = job.prompt if len(job.prompt) <= 28 else job.prompt[:27] + "…"
    return f"{job.short_id} {prompt} (seed {job.seed})"


def follow_jobs(
    service: Service,
    jobs: Sequence[Job],
    events: queue.Queue[JobEvent],
    console: Console,
    timeout_s: float,
) -> list[Job]:
    """Show one bar per job until every job is final (or `timeout_s`); return them final.

    `events` must already receive the service's events (subscribe before submitting, so
    none is missed).
    """
    deadline = time.monotonic() + timeout_s
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        StepRateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=console, transient=False) as bars:
        tasks: dict[str, TaskID] = {
            job.id: bars.add_task(_label(job), total=None, status="queued") for job in jobs
        }
        # A job may have finished before its events were read (fast backends): look once.
        pending = {j.id for j in jobs if not service.get_job(j.id).state.is_terminal}
        while pending and time.monotonic() < deadline:
            try:
                event = events.get(timeout=0.5)
            except queue.Empty:
                pending = {j for j in pending if not service.get_job(j).state.is_terminal}
                continue
            task = tasks.get(event.job_id)
            if task is None:
                continue
            if event.kind is JobEventKind.PROGRESS:
                bars.update(task, total=event.max, completed=event.value, status="running")
            elif event.kind is JobEventKind.STARTED:
                bars.update(task, status=f"running on {event.message}")
            elif event.kind in _FINAL:
                bars.update(task, total=1, completed=1, status=event.kind.value)
                pending.discard(event.job_id)
        for job in jobs:
            final = service.get_job(job.id)
            bars.update(tasks[job.id], total=1, completed=1, status=final.state.value)
    return [service.get_job(job.id) for job in jobs]
