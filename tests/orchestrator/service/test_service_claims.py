"""Which process runs a job: the daemon (`claim_scope="any"`) takes any queued job; a
short-lived CLI service (`claim_scope="own"`) runs only the jobs submitted or retried
through it, needs no lock to do so, and hands its jobs to the daemon when one serves."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from service_testkit import MakeService, tiny_request

from orchestrator.composition import build_service
from orchestrator.jobs import Lease, NewJob
from orchestrator.service import JobState, Service
from orchestrator.settings import Settings


def _queued() -> NewJob:
    """A job as a queue row, submitted by nobody in this test."""
    return NewJob("single_sprite", tiny_request(prompt="a cup").to_params(1), 1)


@pytest.fixture
def make_cli_service(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Service]]:
    """Started services as `generate` builds them (claim_scope "own"), stopped at teardown."""
    services: list[Service] = []

    def make(backends: list[str], **fields: Any) -> Service:
        service = build_service(make_settings(backends, **fields), claim_scope="own")
        services.append(service)
        return service.start()

    yield make
    for service in services:
        service.stop()


def test_two_cli_services_without_a_daemon_each_run_their_own_jobs_only(
    orch_engine: Any, make_cli_service: Callable[..., Service]
) -> None:
    first, second = make_cli_service([orch_engine.url]), make_cli_service([orch_engine.url])
    assert first.runs_jobs and second.runs_jobs  # neither waits for the other to exit
    (unrelated,) = first.store.create([_queued()])
    (a,) = first.submit(tiny_request(seed=21))
    (b,) = second.submit(tiny_request(seed=22))
    done_a, done_b = first.wait(a.id, 120), second.wait(b.id, 120)
    assert (done_a.state, done_b.state) == (JobState.SUCCEEDED, JobState.SUCCEEDED)
    assert first.get_job(unrelated.id) == unrelated  # neither claimed it


def test_a_cli_service_retries_a_job_and_runs_it(
    orch_engine: Any, make_cli_service: Callable[..., Service]
) -> None:
    cli = make_cli_service([orch_engine.url])
    (job,) = cli.store.create([_queued()])
    cli.store.mark_cancelled(job.id, "generate timed out")
    cli.retry(job.id)  # retried here: now it is this process's own job
    done = cli.wait(job.id, 120)
    assert done.state is JobState.SUCCEEDED and done.attempts == 1


def test_a_cli_service_hands_its_jobs_to_the_daemon(
    orch_engine: Any, make_service: MakeService, make_cli_service: Callable[..., Service]
) -> None:
    daemon = make_service([orch_engine.url])
    (stale,) = daemon.store.create([_queued()])
    cli = make_cli_service([orch_engine.url])
    assert daemon.runs_jobs and not cli.runs_jobs
    (job,) = cli.submit(tiny_request(seed=23))
    done = cli.wait(job.id, 120)
    assert done.state is JobState.SUCCEEDED
    assert done.out_dir == str(cli.settings.resolved_output_dir)
    # The daemon claims any job: one queued by nobody in particular runs there too.
    assert daemon.wait(stale.id, 120).state is JobState.SUCCEEDED


def test_a_job_claimed_by_a_process_that_died_runs_once_its_claim_lapsed(
    orch_engine: Any, make_service: MakeService
) -> None:
    daemon = make_service([orch_engine.url], start=False, lease_s=2, heartbeat_s=0.2)
    (job,) = daemon.store.create([_queued()])
    # A CLI claimed it (a lease until `expires`) and was killed before sending it.
    expires = time.time() + 1
    claimed = daemon.store.claim_next_queued("dead-cli", only={job.id}, lease=Lease("x", expires))
    assert claimed is not None and claimed.worker == "dead-cli"
    done = daemon.start().wait(job.id, 120)
    assert done.state is JobState.SUCCEEDED and done.attempts == 1
    assert done.submitted_at is not None and done.submitted_at >= expires
