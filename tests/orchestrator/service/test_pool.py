"""The backend pool over real engines: least-loaded dispatch, health, failover mid-job."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from service_testkit import FAST

from orchestrator.errors import BackendError, InvalidRequest
from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.service.backend_pool import BackendPool, backoff_delay
from orchestrator.service.job_events import JobEventKind
from orchestrator.service.values import GenerationRequest


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff_delay(30) == 10.0


def test_dispatch_picks_the_least_loaded_healthy_backend(
    orch_engine: Any, make_engine: Callable[[], Any]
) -> None:
    other = make_engine()
    pool = BackendPool(timeout_s=5)
    a, b = pool.add_url(orch_engine.url), pool.add_url(other.url)
    with pool.lease(a):
        assert pool.choose() is b
        with pool.lease(b), pool.lease(b):
            assert pool.choose() is a
    assert pool.choose(pinned=other.url) is b
    other.stop()
    assert pool.choose() is a  # the dead one is probed and skipped
    assert not pool.get(other.url).healthy
    with pytest.raises(BackendError, match=other.url.replace(".", r"\.")):
        pool.choose(pinned=other.url)
    with pytest.raises(InvalidRequest, match="not in the pool"):
        pool.get("http://127.0.0.1:9")
    pool.close()


def test_adding_a_non_http_url_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="ftp://x"):
        BackendPool().add_url("ftp://x")


def test_job_moves_to_the_live_backend_when_its_backend_stops(
    make_engine: Callable[[], Any], make_service: Callable[..., Service]
) -> None:
    engines = {e.url: e for e in (make_engine(), make_engine())}
    service = make_service(list(engines), workers=1)
    running = threading.Event()
    service.subscribe(lambda e: running.set() if e.kind is JobEventKind.PROGRESS else None)
    params = {**FAST, "steps": 60}
    (job,) = service.submit(GenerationRequest(prompt="a shield", seed=3, params=params))
    assert running.wait(60)
    first = service.get_job(job.id).backend
    assert first in engines
    threading.Thread(target=engines[first].stop, daemon=True).start()
    done = service.wait(job.id, 180)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.backend != first and done.attempts == 2
    assert len(done.outputs) == 1


def test_queued_job_fails_clearly_when_no_backend_comes_back_in_time(
    make_engine: Callable[[], Any], make_service: Callable[..., Service]
) -> None:
    engine = make_engine()
    service = make_service([engine.url], workers=1, start=False, job_timeout_s=1.0)
    (job,) = service.submit(GenerationRequest(prompt="a bell", seed=8, params=FAST))
    engine.stop()
    service.start()
    done = service.wait(job.id, 30)
    assert done.state is JobState.FAILED and done.retryable
    assert done.error is not None and "no backend" in done.error and engine.url in done.error


def test_no_urls_and_no_embedded_engine_is_refused(tmp_path: Any) -> None:
    from orchestrator.composition import build_pool
    from orchestrator.settings import Settings

    settings = Settings(data_dir=tmp_path, backends=[], engine_in_process=False)
    with pytest.raises(BackendError, match="DGXP_BACKENDS"):
        build_pool(settings)


def test_an_engine_added_by_url_is_reported_as_the_engine(orch_engine: Any) -> None:
    pool = BackendPool(timeout_s=5)
    backend = pool.add_url(orch_engine.url)  # `dgx-pixels engine serve`, reached over HTTP
    assert backend.kind == "comfyui"  # unknown until it answers
    assert pool.check(backend)
    assert [info.kind for info in pool.infos()] == ["engine"]
    pool.close()
