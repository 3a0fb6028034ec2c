"""An engine group of two real CPU engine processes (`engine serve --gpus cpu:2`) behind the
pool: discovery through `engine://NAME`, dispatch (spread, in-flight limit, stickiness),
per-backend figures, and kill -9 of a member mid-run (restarted by the supervisor; its
jobs finish on the other member, none lost or run twice).

One group serves the whole module (two engine processes start in ~10 s on 2 cores).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fixtures.ports import free_port_pair
from service_testkit import FAST

from engine.runner import EngineConfig
from engine.supervisor import EngineGroup, group_file, parse_gpus
from orchestrator.composition import build_service, engine_group_members
from orchestrator.errors import BackendError
from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.service.backend_pool import BackendPool, BackendsBusy
from orchestrator.service.dispatch_policy import DispatchPolicy
from orchestrator.service.values import GenerationRequest
from orchestrator.settings import Settings

GROUP = "testgroup"


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/system_stats", timeout=1).ok
    except requests.RequestException:
        return False


def _members(data_dir: Path) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = json.loads(group_file(data_dir, GROUP).read_text())["members"]
    return members


class RunningGroup:
    """The module's group: its data dir, member URLs and supervisor."""

    def __init__(self, data_dir: Path, group: EngineGroup) -> None:
        self.data_dir = data_dir
        self.group = group
        self.urls = [m.url for m in group.views()]


@pytest.fixture(scope="module")
def engine_group(
    tmp_path_factory: pytest.TempPathFactory, engine_models_dir: Path
) -> Iterator[RunningGroup]:
    data_dir = tmp_path_factory.mktemp("group") / "data"
    base = data_dir / "engine"
    config = EngineConfig(base_dir=base, models_dir=engine_models_dir, port=free_port_pair())
    group = EngineGroup(
        config, parse_gpus("cpu:2", config.port), group_file(data_dir, GROUP), grace_s=10
    )
    stop = threading.Event()
    thread = threading.Thread(target=group.serve, args=(stop,), name="test-group", daemon=True)
    thread.start()
    running = RunningGroup(data_dir, group)
    try:
        for url in running.urls:
            _wait(lambda url=url: _answers(url), 90, f"engine member {url}")
        yield running
    finally:
        stop.set()
        thread.join(30)
    assert not group_file(data_dir, GROUP).exists()  # a clean stop unpublishes the group
    assert all(m.pid is None for m in group.views())


def _service(group: RunningGroup, **fields: Any) -> Service:
    values: dict[str, Any] = {
        "data_dir": group.data_dir,
        "backends": [f"engine://{GROUP}"],
        "health_interval_s": 0.5,
        "request_timeout_s": 5.0,
        "job_timeout_s": 120.0,
        **fields,
    }
    return build_service(Settings(**values), workers=fields.pop("workers", 2)).start()


def test_the_members_file_lists_both_members_with_their_pids(engine_group: RunningGroup) -> None:
    members = _members(engine_group.data_dir)
    assert [m["url"] for m in members] == engine_group.urls
    assert [m["device"] for m in members] == ["cpu", "cpu"]
    assert all(m["state"] == "running" and m["pid"] for m in members)
    assert engine_group.urls[1].endswith(str(int(engine_group.urls[0].rsplit(":", 1)[1]) + 1))


def test_the_pool_discovers_the_members_through_engine_url(engine_group: RunningGroup) -> None:
    pool = BackendPool(timeout_s=5)
    pool.add_group(GROUP, engine_group_members(engine_group.data_dir, GROUP))
    try:
        assert sorted(pool.urls) == sorted(engine_group.urls)
        infos = pool.check_all()
        assert {(i.kind, i.healthy, i.group) for i in infos} == {("engine", True, GROUP)}
    finally:
        pool.close()


def test_a_group_with_no_members_file_yet_says_how_to_start_it(tmp_path: Path) -> None:
    pool = BackendPool(timeout_s=5)
    pool.add_group("later", engine_group_members(tmp_path, "later"))
    with pytest.raises(BackendError, match=r"engine://later lists no member yet.*--gpus"):
        pool.choose()
    pool.close()


def test_a_bad_group_name_in_backends_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match=r"engine://Bad Name.*group='Bad Name'"):
        engine_group_members(tmp_path, "Bad Name")


def test_the_in_flight_limit_holds_and_a_freed_slot_is_taken_again(
    engine_group: RunningGroup,
) -> None:
    pool = BackendPool(timeout_s=5, policy=DispatchPolicy(max_in_flight=1, sticky_slack=1))
    pool.add_group(GROUP, engine_group_members(engine_group.data_dir, GROUP))
    try:
        first, second = pool.acquire("m"), pool.acquire("m")
        assert {first.backend.url, second.backend.url} == set(engine_group.urls)
        with pytest.raises(BackendsBusy, match="backend_max_in_flight"):
            pool.acquire("m", stopping=lambda: True)
        waiter: list[str] = []
        thread = threading.Thread(target=lambda: waiter.append(pool.acquire("m").backend.url))
        thread.start()
        time.sleep(0.3)
        assert not waiter  # still waiting for a slot
        second.release()
        thread.join(10)
        assert waiter == [second.backend.url]
    finally:
        pool.close()


def test_a_job_sticks_to_the_member_that_last_ran_its_models(engine_group: RunningGroup) -> None:
    pool = BackendPool(timeout_s=5, policy=DispatchPolicy(max_in_flight=0, sticky_slack=1))
    pool.add_group(GROUP, engine_group_members(engine_group.data_dir, GROUP))
    try:
        with pool.acquire("sdxl") as first:
            pass
        with pool.acquire("other") as other:  # a fresh member beats a model switch
            assert other.url != first.url
        with pool.acquire("sdxl") as again, pool.acquire("sdxl") as busier:
            assert again.url == first.url
            assert busier.url == first.url  # one more job there is within the slack
            with pool.acquire("sdxl") as third:
                assert third.url == other.url  # two more would not be
    finally:
        pool.close()


def test_jobs_spread_over_both_members_and_are_counted_per_member(
    engine_group: RunningGroup,
) -> None:
    service = _service(engine_group, workers=2, backend_max_in_flight=1)
    try:
        jobs = service.submit(GenerationRequest(prompt="a coin", seed=1, count=4, params=FAST))
        done = [service.wait(job.id, 120) for job in jobs]
        assert [j.state for j in done] == [JobState.SUCCEEDED] * 4, [j.error for j in done]
        assert {j.backend for j in done} == set(engine_group.urls)
        infos = {i.url: i for i in service.pool.infos()}
        assert sum(infos[url].done for url in engine_group.urls) == 4
        assert all(infos[url].mean_job_s for url in engine_group.urls)
        assert {infos[url].last_model for url in engine_group.urls} == {"tiny_sdxl.safetensors"}
    finally:
        service.stop()


def test_kill_9_of_a_member_mid_run_loses_no_job_and_the_member_comes_back(
    engine_group: RunningGroup,
) -> None:
    service = _service(engine_group, workers=2, backend_max_in_flight=1)
    victim_url = engine_group.urls[1]
    try:
        params = {**FAST, "steps": 6}
        jobs = service.submit(GenerationRequest(prompt="a gem", seed=10, count=8, params=params))
        ids = {j.id for j in jobs}

        def running_on_victim() -> bool:
            return any(
                service.get_job(i).state is JobState.RUNNING
                and service.get_job(i).backend == victim_url
                for i in ids
            )

        _wait(running_on_victim, 60, "a job running on the victim member")
        (victim,) = [m for m in _members(engine_group.data_dir) if m["url"] == victim_url]
        os.kill(victim["pid"], signal.SIGKILL)
        done = [service.wait(i, 180) for i in ids]
        assert [j.state for j in done] == [JobState.SUCCEEDED] * 8, [j.error for j in done]
        assert any(j.attempts == 2 for j in done)  # the killed member's job ran again
        files = [f for j in done for f in j.outputs]
        assert len(files) == 8 and len(set(files)) == 8  # one sprite per job, none twice
        _wait(
            lambda: any(
                m["url"] == victim_url and m["restarts"] == 1 and m["state"] == "running"
                for m in _members(engine_group.data_dir)
            ),
            30,
            "the supervisor to restart the killed member",
        )
        _wait(lambda: _answers(victim_url), 90, "the restarted member to serve")
        assert service.pool.get(victim_url).failed >= 1
    finally:
        service.stop()
