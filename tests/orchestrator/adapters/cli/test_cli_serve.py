"""`dgx-pixels serve`: runs jobs other processes submit, serves MCP over HTTP with
`--mcp-port`, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service_testkit import FAST

from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.service.values import GenerationRequest
from orchestrator.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


async def _mcp_tool_names(url: str) -> set[str]:
    from fastmcp import Client

    async with Client(url) as client:
        return {tool.name for tool in await client.list_tools()}


def test_daemon_runs_submitted_jobs_and_stops_on_sigterm(
    orch_engine: Any, make_settings: Callable[..., Settings], make_service: Callable[..., Service]
) -> None:
    settings = make_settings([orch_engine.url])
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DGXP_DATA_DIR": str(settings.data_dir),
        # The daemon's ZMQ bridge on private sockets, not the default shared TCP ports.
        "DGXP_ZMQ_ROUTER": f"ipc://{settings.data_dir}/zmq/router",
        "DGXP_ZMQ_PUB": f"ipc://{settings.data_dir}/zmq/pub",
    }
    code = "from orchestrator.adapters.cli.app import main; main()"
    daemon = subprocess.Popen(
        [
            *(sys.executable, "-c", code, "serve", "--backend", orch_engine.url),
            *("--workers", "1", "--mcp-port", "0"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert daemon.stdout is not None
        deadline = time.monotonic() + 60
        lines: list[str] = []
        while not lines or "daemon up" not in lines[-1]:
            assert time.monotonic() < deadline and daemon.poll() is None
            lines.append(daemon.stdout.readline())
        (mcp_url,) = [
            line.split()[-1] for line in lines if line.startswith("MCP (streamable HTTP): ")
        ]
        assert asyncio.run(_mcp_tool_names(mcp_url)) >= {"generate_sprite", "deploy_asset"}
        client = make_service([orch_engine.url])
        assert not client.runs_jobs  # the daemon holds the data directory
        (job,) = client.submit(GenerationRequest(prompt="a boot", seed=401, params=FAST))
        assert client.wait(job.id, 60).state is JobState.SUCCEEDED
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(10)
        if daemon.stdout is not None:
            daemon.stdout.close()
