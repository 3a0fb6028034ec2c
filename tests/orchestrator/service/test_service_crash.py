"""kill -9 the orchestrator mid-batch, restart it: every job ends exactly once with its files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from orchestrator.jobs.states import JobState
from orchestrator.jobs.store import JobStore
from orchestrator.service import Service
from orchestrator.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import json, sys, time
from orchestrator.composition import build_service
from orchestrator.service.values import GenerationRequest
from orchestrator.settings import Settings
service = build_service(Settings(), workers=2).start()
params = {"checkpoint": "tiny_sdxl.safetensors", "steps": 4, "width": 64, "height": 64}
jobs = service.submit(GenerationRequest(prompt="a torch", seed=1, count=4, params=params))
print(json.dumps([j.id for j in jobs]), flush=True)
time.sleep(600)
"""


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DGXP_DATA_DIR": str(settings.data_dir),
        "DGXP_MODELS_DIR": str(settings.models_dir),
        "DGXP_BACKENDS": json.dumps(settings.backends),
        "DGXP_HEALTH_INTERVAL_S": "0.5",
        # Short leases: the killed child's jobs may be taken over 2 s after its last beat.
        "DGXP_LEASE_S": "2",
        "DGXP_HEARTBEAT_S": "0.5",
    }


def _wait_for(store: JobStore, ids: list[str], ready: Callable[[list[JobState]], bool]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if ready([store.get(i).state for i in ids]):
            return
        time.sleep(0.05)
    raise AssertionError(f"jobs never reached the wanted mix: {[store.get(i).state for i in ids]}")


def test_kill_9_mid_batch_then_restart_finishes_every_job_once(
    orch_engine: Any,
    make_settings: Callable[..., Settings],
    make_service: Callable[..., Service],
) -> None:
    settings = make_settings([orch_engine.url])
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], env=_env(settings), stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        ids: list[str] = json.loads(child.stdout.readline())
        with JobStore(settings.database_path) as store:
            # Kill it with one job done and another sent to the backend but not collected.
            _wait_for(
                store,
                ids,
                lambda s: (
                    JobState.SUCCEEDED in s
                    and any(x in (JobState.SUBMITTED, JobState.RUNNING) for x in s)
                ),
            )
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
            before = {i: store.get(i) for i in ids}
            killed_at = time.time()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert any(j.state is not JobState.SUCCEEDED for j in before.values())

    service = make_service([orch_engine.url], lease_s=2, heartbeat_s=0.5)
    final = [service.wait(i, 180) for i in ids]
    history = requests.get(f"{orch_engine.url}/history", timeout=10).json()
    ran = {entry["prompt"][1] for entry in history.values()}
    ran_for_job = [e["prompt"][3].get("dgxp_job_id") for e in history.values()]

    assert [j.state for j in final] == [JobState.SUCCEEDED] * len(ids)
    for job in final:
        old = before[job.id]
        if old.lease is not None and old.state is not JobState.SUCCEEDED:
            # The child held it: nobody took it over before its lease ran out.
            assert old.lease.expires_at <= killed_at + 2
            assert job.finished_at is not None and job.finished_at >= old.lease.expires_at
        if old.state is JobState.SUCCEEDED:  # collected before the kill: untouched since
            assert job == old
        elif old.prompt_id in ran:  # the backend had it: re-attached, not sent again
            assert job.prompt_id == old.prompt_id and job.attempts == old.attempts
        else:  # killed between recording and sending: sent once more
            assert job.attempts == old.attempts + 1
        assert len(job.outputs) == 1 and Path(job.outputs[0]).is_file()
        assert ran_for_job.count(job.id) == 1  # the backend ran each job exactly once
    out = settings.resolved_output_dir
    sprites = sorted(p.name for p in out.rglob("*_0.png"))
    assert len(sprites) == len(ids)  # exactly one sprite per job, no duplicates
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no half files
