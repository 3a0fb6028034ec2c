"""One daemon per data dir: a second `dgx-pixels serve` refuses, names the first one's PID,
and leaves the first one's ipc sockets alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import zmq
from zmq_helpers import Sockets, raw_request

from orchestrator.settings import Settings

ROOT = Path(__file__).resolve().parents[4]
_MAIN = "from orchestrator.adapters.cli.app import main; main()"


def _wait_up(daemon: subprocess.Popen[str]) -> None:
    assert daemon.stdout is not None
    deadline = time.monotonic() + 90
    line = ""
    while "daemon up" not in line:
        assert time.monotonic() < deadline and daemon.poll() is None, line
        line = daemon.stdout.readline()


def _ping(endpoint: str) -> dict[str, Any]:
    sockets = Sockets()
    try:
        frames = raw_request(sockets.connect(zmq.DEALER, endpoint), "ping", {}, timeout_ms=10_000)
    finally:
        sockets.close()
    body: dict[str, Any] = msgpack.unpackb(frames[2])
    return body


def test_a_second_serve_on_one_data_dir_refuses_naming_the_first_pid(
    orch_engine: Any, make_settings: Callable[..., Settings]
) -> None:
    data_dir = make_settings([orch_engine.url]).data_dir
    router = f"ipc://{data_dir}/zmq/router"
    env = {
        **os.environ,
        "COLUMNS": "40",
        "PYTHONPATH": str(ROOT),
        "DGXP_DATA_DIR": str(data_dir),
        "DGXP_ZMQ_ROUTER": router,
        "DGXP_ZMQ_PUB": f"ipc://{data_dir}/zmq/pub",
    }
    argv = [sys.executable, "-c", _MAIN, "serve", "--backend", orch_engine.url, "--workers", "1"]
    with subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as first:
        try:
            _wait_up(first)
            epoch = _ping(router)["result"]["epoch"]

            second = subprocess.run(
                argv, env=env, capture_output=True, text=True, timeout=120, check=False
            )
            said = second.stdout + second.stderr
            assert second.returncode != 0, said
            assert str(first.pid) in said and "already served" in " ".join(said.split())
            assert "daemon up" not in said

            # The first daemon still answers on its own sockets (same epoch: not a new bridge).
            pong = _ping(router)
            assert pong["type"] == "ok" and pong["result"]["epoch"] == epoch
            first.send_signal(signal.SIGTERM)
            assert first.wait(60) == 0
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(10)
