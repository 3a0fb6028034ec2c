"""Restart reconciliation, case by case: a job left `submitted` by a dead process is
collected once if its prompt finished, followed if it still runs, resubmitted if the
backend lost it, and requeued if its backend is gone from the pool."""

from __future__ import annotations

import time
import uuid
from typing import Any

from service_testkit import FAST, MakeService

from orchestrator.comfy.client import ComfyClient
from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.service.values import GenerationRequest


def _left_in_flight(
    service: Service, engine_url: str, *, send: bool, seed: int, steps: int = 1
) -> tuple[str, str]:
    """What a process killed right after recording (and maybe sending) a job leaves behind."""
    params = {**FAST, "steps": steps}
    (job,) = service.submit(GenerationRequest(prompt="a lamp", seed=seed, params=params))
    prompt_id = uuid.uuid4().hex
    service.store.mark_submitted(job.id, prompt_id, engine_url)
    if send:
        graph = service.template("single_sprite").render(service.get_job(job.id).params)
        with ComfyClient(engine_url) as client:
            extra = {"dgxp_job_id": job.id}
            client.submit(graph, "dead-process", extra_data=extra, prompt_id=prompt_id)
    return job.id, prompt_id


def _runs_of(engine_url: str, job_id: str) -> int:
    with ComfyClient(engine_url) as client:
        history = client._json_object("GET", "/history")
    return sum(1 for e in history.values() if e["prompt"][3].get("dgxp_job_id") == job_id)


def test_finished_prompt_is_collected_without_running_again(
    orch_engine: Any, make_service: MakeService
) -> None:
    dead = make_service([orch_engine.url], start=False)
    job_id, prompt_id = _left_in_flight(dead, orch_engine.url, send=True, seed=101)
    with ComfyClient(orch_engine.url) as client:
        deadline = time.monotonic() + 60
        while client.history(prompt_id) is None and time.monotonic() < deadline:
            time.sleep(0.05)
    dead.stop()
    service = make_service([orch_engine.url])
    done = service.wait(job_id, 60)
    assert done.state is JobState.SUCCEEDED and done.prompt_id == prompt_id
    assert done.attempts == 1 and len(done.outputs) == 1
    assert _runs_of(orch_engine.url, job_id) == 1


def test_running_prompt_is_followed_to_the_end(orch_engine: Any, make_service: MakeService) -> None:
    dead = make_service([orch_engine.url], start=False)
    job_id, prompt_id = _left_in_flight(dead, orch_engine.url, send=True, seed=102, steps=40)
    dead.stop()
    service = make_service([orch_engine.url])
    done = service.wait(job_id, 120)
    assert done.state is JobState.SUCCEEDED and done.prompt_id == prompt_id
    assert done.attempts == 1 and _runs_of(orch_engine.url, job_id) == 1


def test_prompt_the_backend_never_got_is_sent_again(
    orch_engine: Any, make_service: MakeService
) -> None:
    dead = make_service([orch_engine.url], start=False)
    job_id, prompt_id = _left_in_flight(dead, orch_engine.url, send=False, seed=103)
    dead.stop()
    service = make_service([orch_engine.url])
    done = service.wait(job_id, 60)
    assert done.state is JobState.SUCCEEDED and done.prompt_id != prompt_id
    assert done.attempts == 2 and _runs_of(orch_engine.url, job_id) == 1


def test_job_on_a_backend_no_longer_configured_runs_on_the_current_one(
    orch_engine: Any, make_service: MakeService
) -> None:
    dead = make_service([orch_engine.url], start=False)
    job_id, _ = _left_in_flight(dead, "http://127.0.0.1:9", send=False, seed=104)
    dead.stop()
    service = make_service([orch_engine.url])
    done = service.wait(job_id, 60)
    assert done.state is JobState.SUCCEEDED and done.backend == orch_engine.url
