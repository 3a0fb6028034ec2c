"""DaemonClient against a real bridge and against nothing at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.adapters.tui.daemon_client import DaemonClient
from orchestrator.adapters.tui.errors import DaemonRefused, DaemonUnavailable
from orchestrator.adapters.zmq.bridge import ZmqBridge
from orchestrator.wire.zmq_protocol import GetJobRequest, JobsResult, PingRequest, SubmitRequest


async def test_requests_in_flight_together_each_get_their_reply(bridge: ZmqBridge) -> None:
    import asyncio

    client = DaemonClient(bridge.router_endpoint, bridge.pub_endpoint)
    try:
        replies = await asyncio.gather(
            *(client.request(SubmitRequest(prompt=f"p{i}")) for i in range(5)),
            client.request(PingRequest()),
        )
        prompts = [r[0].jobs[0].prompt for r in replies[:5] if isinstance(r[0], JobsResult)]
        assert prompts == [f"p{i}" for i in range(5)]
        assert replies[5][0].type == "pong"
    finally:
        await client.close()


async def test_error_reply_raises_refused_with_the_code(bridge: ZmqBridge) -> None:
    client = DaemonClient(bridge.router_endpoint, bridge.pub_endpoint)
    try:
        with pytest.raises(DaemonRefused, match="not_found") as info:
            await client.request(GetJobRequest(job_id="missing"))
        assert info.value.code == "not_found"
    finally:
        await client.close()


async def test_no_daemon_raises_unavailable_naming_the_endpoint(tmp_path: Path) -> None:
    client = DaemonClient(f"ipc://{tmp_path}/none-req", f"ipc://{tmp_path}/none-pub", timeout_s=0.2)
    try:
        with pytest.raises(DaemonUnavailable, match="none-req"):
            await client.request(PingRequest())
        assert await client.next_event(0.05) is None
    finally:
        await client.close()
