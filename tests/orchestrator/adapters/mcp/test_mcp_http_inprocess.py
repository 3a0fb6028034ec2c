"""Streamable HTTP with a bearer token, in-process (the CLI's subprocess run is `slow`):
the real ASGI app on a real socket, 401 without the token, tools with it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastmcp import Client
from mcp_testkit import TINY, post_status

from orchestrator.adapters.mcp import build_mcp_server
from orchestrator.service import Service
from orchestrator.settings import Settings

TOKEN = "in-process-token"


@pytest.fixture
def http_url(mcp_service: Service, mcp_settings: Settings) -> Iterator[str]:
    """The MCP server's HTTP app served by uvicorn on a free loopback port."""
    server = build_mcp_server(mcp_service, mcp_settings, token=TOKEN)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(
        server.http_app(), host="127.0.0.1", port=port, log_level="warning", ws="none"
    )
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, name="mcp-http-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        runner.should_exit = True
        thread.join(timeout=10)


async def test_http_needs_the_bearer_token(http_url: str) -> None:
    assert post_status(http_url, None) == 401
    assert post_status(http_url, "not-the-token") == 401
    assert post_status(http_url, TOKEN) != 401


async def test_http_client_with_token_generates_and_deploys(
    http_url: str, bevy_project: Path
) -> None:
    async with Client(http_url, auth=TOKEN) as client:
        made: Any = await client.call_tool(
            "generate_sprite", {"prompt": "a key", "seed": 8, **TINY}
        )
        job_id = made.structured_content["id"]
        await client.call_tool("deploy_asset", {"job_id": job_id, "project": "game", "name": "key"})
    assert (bevy_project / "assets/generated/key.png").read_bytes()[:4] == b"\x89PNG"
