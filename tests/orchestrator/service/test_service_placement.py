"""A job runs where it was asked, and running jobs hold a lease (issue 9, Deliver 4):

- the output folder (absolute, even from a relative setting) and the asked-for backends are
  stored with the job and honoured by the service that runs it, which adds an asked-for
  backend its pool does not know;
- a job in flight under another process's live lease is not taken over until the lease
  expires; the heartbeat renews the lease of a followed job; a service that stops ends its
  leases, so the next one takes its jobs over at once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from service_testkit import FAST, MakeService, tiny_request

from orchestrator.comfy.client import ComfyClient
from orchestrator.errors import InvalidRequest
from orchestrator.jobs import Lease, NewJob
from orchestrator.service import JobState, Service
from orchestrator.service.job_events import JobEventKind


def _until(ready: Callable[[], bool], why: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, why
        time.sleep(0.05)


def _runs_of(engine_url: str, job_id: str) -> int:
    with ComfyClient(engine_url) as client:
        history = client._json_object("GET", "/history")
    return sum(1 for e in history.values() if e["prompt"][3].get("dgxp_job_id") == job_id)


def _running(service: Service, **params: Any) -> str:
    """Submit a 150-step job and return its id once the sampler reports progress."""
    progressed = threading.Event()
    service.subscribe(lambda e: progressed.set() if e.kind is JobEventKind.PROGRESS else None)
    (job,) = service.submit(tiny_request(params={**FAST, "steps": 150, **params}))
    assert progressed.wait(120)
    return job.id


def test_a_relative_output_folder_is_stored_absolute_and_written_there(
    orch_engine: Any, make_service: MakeService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    service = make_service([orch_engine.url], output_dir=Path("rel") / "out")
    (job,) = service.submit(tiny_request(seed=11))
    assert job.out_dir == str(tmp_path / "rel" / "out")
    monkeypatch.chdir("/")  # where the running process stands no longer matters
    done = service.wait(job.id, 120)
    assert done.state is JobState.SUCCEEDED
    assert Path(done.outputs[0]).is_relative_to(tmp_path / "rel" / "out")


def test_an_asked_for_backend_the_pool_does_not_know_joins_it_and_runs_the_job(
    orch_engine: Any, make_engine: Callable[[], Any], make_service: MakeService
) -> None:
    asked = make_engine()
    service = make_service([orch_engine.url])
    assert asked.url not in service.pool.urls
    (job,) = service.submit(tiny_request(seed=12), backends=[asked.url + "/"])
    done = service.wait(job.id, 120)
    assert done.state is JobState.SUCCEEDED and done.backend == asked.url
    assert asked.url in service.pool.urls
    assert _runs_of(asked.url, job.id) == 1 and _runs_of(orch_engine.url, job.id) == 0


def test_an_asked_for_backend_that_is_not_a_url_is_refused_storing_nothing(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url])
    with pytest.raises(InvalidRequest, match=r"backends=.*ftp://nowhere.*http://"):
        service.submit(tiny_request(seed=13), backends=["ftp://nowhere"])
    assert service.list_jobs() == [] and service.pool.urls == [orch_engine.url]


def test_a_stored_backend_that_is_not_a_url_fails_its_job_naming_it(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url], start=False)
    new = NewJob("single_sprite", {**FAST, "prompt": "a gem"}, 1)
    (job,) = service.store.create([replace(new, preferred_backends=("ftp://nowhere",))])
    service.start()
    done = service.wait(job.id, 60)
    assert done.state is JobState.FAILED and "ftp://nowhere" in (done.error or "")
    assert done.attempts == 0 and service.pool.urls == [orch_engine.url]


def test_a_live_lease_of_another_process_is_only_taken_over_once_it_expired(
    orch_engine: Any, make_service: MakeService
) -> None:
    dead = make_service([orch_engine.url], start=False)
    (job,) = dead.submit(tiny_request(seed=14))
    prompt_id, expires = uuid.uuid4().hex, time.time() + 5
    # Another (hung) process sent it and holds the lease for 5 s more.
    dead.store.mark_submitted(job.id, prompt_id, orch_engine.url, Lease("elsewhere:1:x", expires))
    graph = dead.template("single_sprite").render(dead.get_job(job.id).params)
    with ComfyClient(orch_engine.url) as client:
        client.submit(graph, "hung", extra_data={"dgxp_job_id": job.id}, prompt_id=prompt_id)
    service = make_service([orch_engine.url], lease_s=2, heartbeat_s=0.2)
    held = service.get_job(job.id).lease
    assert held == Lease("elsewhere:1:x", expires)  # start did not take it
    done = service.wait(job.id, 120)
    assert done.state is JobState.SUCCEEDED and done.prompt_id == prompt_id
    assert done.finished_at is not None and done.finished_at >= expires
    assert done.attempts == 1 and _runs_of(orch_engine.url, job.id) == 1


def test_the_heartbeat_renews_the_lease_of_a_followed_job(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url], lease_s=3, heartbeat_s=0.2)
    job_id = _running(service)
    first = service.get_job(job_id).lease
    assert first is not None

    def renewed() -> bool:
        lease = service.get_job(job_id).lease
        return lease is not None and lease.expires_at > first.expires_at

    _until(renewed, "the lease was never renewed")
    assert service.get_job(job_id).lease.owner == first.owner
    service.cancel(job_id)
    assert service.get_job(job_id).lease is None


def test_a_stopped_service_ends_its_leases_so_the_next_takes_over_at_once(
    orch_engine: Any, make_service: MakeService
) -> None:
    first = make_service([orch_engine.url], lease_s=600, heartbeat_s=0.2)
    job_id = _running(first)
    left = first.get_job(job_id)
    first.stop()
    after = make_service([orch_engine.url], start=False).get_job(job_id)
    assert after.state in (JobState.SUBMITTED, JobState.RUNNING)  # left in flight
    assert after.lease is not None and after.lease.expires_at == 0  # but not held
    service = make_service([orch_engine.url], lease_s=600)
    done = service.wait(job_id, 120)  # without the release it would wait 600 s
    assert done.state is JobState.SUCCEEDED and done.prompt_id == left.prompt_id
    assert _runs_of(orch_engine.url, job_id) == 1
