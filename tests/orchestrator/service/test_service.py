"""The Service against the engine's real server: jobs run, events flow, files land."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from service_testkit import FAST, MakeService, tiny_request

from orchestrator.composition import build_service
from orchestrator.errors import InvalidRequest, JobNotFound, JobStateError, TemplateError
from orchestrator.jobs.states import JobState
from orchestrator.service.job_events import JobEvent, JobEventKind
from orchestrator.service.values import CompareVariant, LoraSpec


def test_jobs_succeed_with_files_sidecar_and_ordered_events(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url])
    events: list[JobEvent] = []
    lock = threading.Lock()

    def collect(event: JobEvent) -> None:
        with lock:
            events.append(event)

    service.subscribe(collect)
    lora = LoraSpec("tiny_lora.safetensors", 0.5)
    jobs = service.submit(tiny_request(count=2, loras=(lora,), params={**FAST, "save_raw": True}))
    assert [j.seed for j in jobs] == [5, 6] and jobs[0].batch_id == jobs[1].batch_id
    done = [service.wait(j.id, 120) for j in jobs]
    assert [j.state for j in done] == [JobState.SUCCEEDED] * 2
    for job in done:
        files = service.outputs(job.id)
        assert files.sprite and Path(files.sprite).is_file()
        assert files.raw and Path(files.raw).is_file()
        assert files.preview and Path(files.preview).is_file()
        sidecar = json.loads(Path(files.sidecar or "").read_text())
        assert (sidecar["job_id"], sidecar["seed"], sidecar["backend"]) == (
            job.id,
            job.seed,
            orch_engine.url,
        )
        hashes = {m["name"]: m["sha256"] for m in sidecar["models"]}
        assert set(hashes) == {"tiny_sdxl.safetensors", "tiny_lora.safetensors"}
        assert all(len(h) == 64 for h in hashes.values())
        assert job.hashes == hashes and job.attempts == 1
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for job in done:
        kinds = [e.kind for e in events if e.job_id == job.id]
        assert kinds[0] is JobEventKind.QUEUED and kinds[-1] is JobEventKind.SUCCEEDED
        assert JobEventKind.STARTED in kinds and JobEventKind.PROGRESS in kinds


def test_finished_job_cannot_be_cancelled_but_failed_one_can_be_retried(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url])
    (job,) = service.submit(tiny_request())
    assert service.wait(job.id, 120).state is JobState.SUCCEEDED
    with pytest.raises(JobStateError, match="succeeded"):
        service.cancel(job.id)
    with pytest.raises(JobStateError, match="only failed or cancelled"):
        service.retry(job.id)


def test_cancelled_queued_job_never_runs_and_retry_runs_it(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url], start=False)
    (job,) = service.submit(tiny_request())
    cancelled = service.cancel(job.id)
    assert cancelled.state is JobState.CANCELLED and cancelled.prompt_id is None
    service.start()
    assert service.wait(job.id, 1).state is JobState.CANCELLED
    service.retry(job.id)
    assert service.wait(job.id, 120).state is JobState.SUCCEEDED


def test_cancel_interrupts_a_running_job(orch_engine: Any, make_service: MakeService) -> None:
    service = make_service([orch_engine.url])
    started = threading.Event()
    service.subscribe(lambda e: started.set() if e.kind is JobEventKind.PROGRESS else None)
    (job,) = service.submit(tiny_request(params={**FAST, "steps": 150}))
    assert started.wait(60)
    service.cancel(job.id)
    final = service.wait(job.id, 30)
    assert final.state is JobState.CANCELLED and final.outputs == ()
    # The backend is free again: the next job runs at once.
    (other,) = service.submit(tiny_request())
    assert service.wait(other.id, 120).state is JobState.SUCCEEDED


def test_compare_runs_the_same_seed_and_params_across_variants(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url])
    variants = [
        CompareVariant("base", checkpoint="tiny_sdxl.safetensors"),
        CompareVariant("lora", "tiny_sdxl.safetensors", (LoraSpec("tiny_lora.safetensors"),)),
    ]
    comparison = service.compare("a tree", 11, variants, {"steps": 1, "width": 64, "height": 64})
    assert comparison.labels == ["base", "lora"]
    jobs = comparison.jobs
    assert {j.seed for j in jobs} == {11} and len({j.batch_id for j in jobs}) == 1
    assert jobs[1].params["loras"] == [{"name": "tiny_lora.safetensors", "strength": 1.0}]
    assert {(j.params["width"], j.params["height"], j.params["steps"]) for j in jobs} == {
        (64, 64, 1)
    }
    done = [service.wait(j.id, 120) for j in jobs]
    assert [j.state for j in done] == [JobState.SUCCEEDED] * 2


@pytest.mark.parametrize(
    ("params", "error", "needle"),
    [
        ({"steps": 0}, TemplateError, "steps"),
        ({"width": 100_000}, TemplateError, "width"),
        ({"bogus": 1}, TemplateError, "bogus"),
        ({"palette": "no-such-palette"}, TemplateError, "no-such-palette"),
    ],
)
def test_compare_checks_params_like_submit_and_stores_nothing(
    orch_engine: Any,
    make_service: MakeService,
    params: dict[str, Any],
    error: type[Exception],
    needle: str,
) -> None:
    service = make_service([orch_engine.url], start=False)
    variants = [CompareVariant("a", "tiny_sdxl.safetensors"), CompareVariant("b")]
    with pytest.raises(error, match=needle):
        service.compare("a tree", 11, variants, params)
    with pytest.raises(InvalidRequest, match="seed=18446744073709551616"):
        service.compare("a tree", 2**64, variants)
    assert service.list_jobs() == []


def test_unknown_job_id_is_named(orch_engine: Any, make_service: MakeService) -> None:
    service = make_service([orch_engine.url], start=False)
    with pytest.raises(JobNotFound, match="nope"):
        service.get_job("nope")
    assert [t.name for t in service.templates()][:1] and "pico-8" in service.palettes()
    assert [m.name for m in service.models()] == ["tiny_sdxl.safetensors"]
    assert [m.name for m in service.loras()] == ["tiny_lora.safetensors"]


def test_cancel_from_another_process_stops_the_running_job(
    orch_engine: Any, make_service: MakeService, make_settings: Callable[..., Any]
) -> None:
    service = make_service([orch_engine.url])
    started = threading.Event()
    service.subscribe(lambda e: started.set() if e.kind is JobEventKind.PROGRESS else None)
    (job,) = service.submit(tiny_request(params={**FAST, "steps": 150}))
    assert started.wait(60)
    # What `dgx-pixels jobs cancel` does: a backend-less service on the same data dir.
    other = build_service(make_settings([]), backends=False)
    try:
        assert other.cancel(job.id).state is JobState.CANCELLED
    finally:
        other.stop()
    (after,) = service.submit(tiny_request(seed=77))
    # The worker noticed, interrupted the prompt, and the engine is free for the next job.
    assert service.wait(after.id, 60).state is JobState.SUCCEEDED
    assert service.get_job(job.id).state is JobState.CANCELLED


def test_missing_default_checkpoint_falls_back_to_an_installed_one(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url], start=False)
    params = {k: v for k, v in FAST.items() if k != "checkpoint"}
    (job,) = service.submit(tiny_request(params=params))
    assert job.params["checkpoint"] == "tiny_sdxl.safetensors"
    service.cancel(job.id)


def test_the_largest_comfyui_seeds_run_and_are_recorded_exactly(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url])
    jobs = service.submit(tiny_request(seed=2**64 - 2, count=2))
    assert [j.seed for j in jobs] == [2**64 - 2, 2**64 - 1]
    for job in jobs:
        done = service.wait(job.id, 120)
        assert done.state is JobState.SUCCEEDED, done.error
        assert service.get_job(job.id).seed == job.seed == done.params["seed"]
        sidecar = json.loads(Path(service.outputs(job.id).sidecar or "").read_text())
        assert sidecar["seed"] == job.seed
