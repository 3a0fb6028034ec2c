"""`dgx-pixels serve --metrics-port`: a real daemon process serves /metrics that count the
jobs it ran; a port already in use stops it at start with one clear error line."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from daemon_testkit import CLI, daemon_env, running_daemon
from prometheus_client.parser import text_string_to_metric_families
from service_testkit import tiny_request

from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.settings import Settings


def _job_counter(url: str, state: str) -> float:
    text = requests.get(url, timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "dgxp_jobs_finished_total" and sample.labels["state"] == state:
                return sample.value
    return 0.0


def test_the_daemon_serves_metrics_that_count_the_jobs_it_ran(
    orch_engine: Any, make_settings: Callable[..., Settings], make_service: Callable[..., Service]
) -> None:
    data_dir = make_settings([orch_engine.url]).data_dir
    with running_daemon(data_dir, "--backend", orch_engine.url, "--metrics-port", "0") as (
        daemon,
        lines,
    ):
        (url,) = [ln.split()[-1] for ln in lines if ln.startswith("metrics (Prometheus): ")]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics")
        assert _job_counter(url, "succeeded") == 0
        client = make_service([orch_engine.url])
        assert not client.runs_jobs  # the daemon runs them
        jobs = client.submit(tiny_request(count=2))
        assert {client.wait(j.id, 120).state for j in jobs} == {JobState.SUCCEEDED}
        assert _job_counter(url, "succeeded") == 2
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0


def test_a_metrics_port_in_use_is_one_clear_error_at_start(
    orch_engine: Any, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings([orch_engine.url])
    data_dir = settings.data_dir
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        argv = [*CLI, "serve", "--backend", orch_engine.url]
        done = subprocess.run(
            [*argv, "--metrics-port", str(port)],
            env=daemon_env(data_dir),
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        holder.close()
    assert done.returncode == 2
    assert done.stdout == ""
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [
        f"error: metrics_port={port}: 127.0.0.1:{port} is already in use; pick another "
        "--metrics-port (DGXP_METRICS_PORT) or stop the process that holds it"
    ]
    assert not settings.database_path.exists()  # nothing started, nothing stored


def test_a_metrics_port_out_of_range_is_refused_naming_the_flag_or_variable(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    flag = subprocess.run(
        [*CLI, "serve", "--metrics-port", "70000"],
        env=daemon_env(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert flag.returncode == 2 and flag.stdout == ""
    # typer's range message names the flag and the limit (not the value given)
    assert "'--metrics-port'" in flag.stderr and "65535" in flag.stderr
    env = {**daemon_env(data_dir), "DGXP_METRICS_PORT": "99999"}
    setting = subprocess.run([*CLI, "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert setting.returncode == 2 and setting.stdout == ""
    (line,) = [ln for ln in setting.stderr.splitlines() if ln.startswith("error:")]
    assert "DGXP_METRICS_PORT" in line and "99999" in line
    assert not data_dir.exists()  # refused before anything was created
