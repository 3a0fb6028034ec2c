"""Two service processes on one data directory: one runs the jobs, the other submits and
still gets events (what `dgx-pixels mcp` or `generate` do while `serve` runs)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.service.job_events import JobEvent, JobEventKind
from orchestrator.service.values import GenerationRequest

FAST = {"checkpoint": "tiny_sdxl.safetensors", "steps": 2, "width": 64, "height": 64}


def test_second_service_submits_to_the_first_and_sees_its_events(
    orch_engine: Any, make_service: Callable[..., Service]
) -> None:
    daemon = make_service([orch_engine.url])
    client = make_service([orch_engine.url])
    assert daemon.runs_jobs and not client.runs_jobs
    seen: list[JobEvent] = []
    finished = threading.Event()

    def record(event: JobEvent) -> None:
        seen.append(event)
        if event.kind is JobEventKind.SUCCEEDED:
            finished.set()

    client.subscribe(record)
    (job,) = client.submit(GenerationRequest(prompt="a coin", seed=301, params=FAST))
    assert finished.wait(60)
    assert client.wait(job.id, 5).state is JobState.SUCCEEDED
    kinds = [e.kind for e in seen if e.job_id == job.id]
    assert kinds[0] is JobEventKind.QUEUED and kinds[-1] is JobEventKind.SUCCEEDED
    assert kinds.count(JobEventKind.QUEUED) == 1 and kinds.count(JobEventKind.SUCCEEDED) == 1
    assert JobEventKind.STARTED in kinds
    seqs = [e.seq for e in seen]
    assert seqs == sorted(seqs)
