"""`dgx-pixels status` against a real daemon process: one JSON record with `--json`, whole
tables at 40 columns otherwise; no daemon is one error line and exit code 1."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon_testkit import CLI, daemon_env, running_daemon
from service_testkit import tiny_request

from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.settings import Settings


def _status(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "status", *args],
        env=daemon_env(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _record(data_dir: Path) -> dict[str, Any]:
    done = _status(data_dir, "--json")
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    record: dict[str, Any] = json.loads(line)
    return record


def test_status_reports_health_backends_queue_rate_and_why_no_gpu(
    orch_engine: Any, make_settings: Callable[..., Settings], make_service: Callable[..., Service]
) -> None:
    data_dir = make_settings([orch_engine.url]).data_dir
    url = orch_engine.url.rstrip("/")
    with running_daemon(data_dir, "--backend", orch_engine.url):
        client = make_service([orch_engine.url])
        (job,) = client.submit(tiny_request())
        assert client.wait(job.id, 120).state is JobState.SUCCEEDED
        deadline = time.monotonic() + 30
        while (record := _record(data_dir))["images_per_minute"] == 0:  # the next sample
            assert time.monotonic() < deadline
            time.sleep(0.2)
        table = _status(data_dir)
    assert record["endpoint"] == f"ipc://{data_dir}/zmq/router"
    assert record["health"]["state"] == "ok"
    assert record["queued"] == 0
    assert record["images_per_minute"] == 60 / 300  # one sprite in the last 5 minutes
    (backend,) = record["backends"]
    assert (backend["url"], backend["healthy"], backend["kind"]) == (url, True, "engine")
    # per-backend figures: the daemon ran the job there (dispatch, `dgx-pixels status`)
    assert (backend["done"], backend["failed"]) == (1, 0)
    assert backend["last_model"] == "tiny_sdxl.safetensors" and backend["mean_job_s"] > 0
    assert record["gpus"] == [] and "NVML" in record["gpu_note"]
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert any("health" in ln and " ok " in ln for ln in lines)
    assert any(url in ln and " yes " in ln and "tiny_sdxl" in ln for ln in lines)  # whole
    assert any(ln.startswith("GPUs: none reported (NVML is not available") for ln in lines)


def test_without_a_daemon_status_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    done = _status(tmp_path / "data", "--timeout", "0.5")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: no daemon answered at ipc://{tmp_path}/data/zmq/router within 0.5 s; "
        "start one with `dgx-pixels serve`"
    ]
