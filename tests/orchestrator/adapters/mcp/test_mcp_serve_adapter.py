"""`dgx-pixels serve --mcp-port`: the daemon's MCP-over-HTTP adapter answers tools with the
token rules of `dgx-pixels mcp --http`, refuses an exposed host without a token, and stops."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastmcp import Client
from mcp_testkit import post_status

from orchestrator.adapters.cli.serve import start_adapters, stop_adapters
from orchestrator.adapters.mcp.http import McpHttpServer
from orchestrator.errors import InvalidRequest
from orchestrator.service import Service
from orchestrator.settings import Settings

TOKEN = "daemon-token"


def _settings(base: Settings, tmp_path: Path, **mcp: object) -> Settings:
    return base.model_copy(
        update={
            "zmq_router": f"ipc://{tmp_path}/zmq/req",
            "zmq_pub": f"ipc://{tmp_path}/zmq/pub",
            **mcp,
        }
    )


async def test_serve_adapters_answer_mcp_over_http_with_the_token(
    mcp_service: Service, mcp_settings: Settings, tmp_path: Path
) -> None:
    settings = _settings(mcp_settings, tmp_path, mcp_port=0, mcp_token=TOKEN)
    adapters = start_adapters(mcp_service, settings)
    try:
        (url,) = [a.url for a in adapters if isinstance(a, McpHttpServer)]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        assert post_status(url, None) == 401 and post_status(url, "wrong") == 401
        async with Client(url, auth=TOKEN) as client:
            palettes = await client.call_tool("list_palettes", {})
        assert "pico-8" in palettes.structured_content["items"]
    finally:
        stop_adapters(adapters)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(ConnectionRefusedError):  # the server really stopped listening
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_without_mcp_port_no_http_server_is_started(
    mcp_service: Service, mcp_settings: Settings, tmp_path: Path
) -> None:
    adapters = start_adapters(mcp_service, _settings(mcp_settings, tmp_path))
    try:
        assert not any(isinstance(a, McpHttpServer) for a in adapters)
    finally:
        stop_adapters(adapters)


@pytest.mark.parametrize(
    ("mcp", "needle"),
    [
        ({"mcp_port": 0, "mcp_host": "0.0.0.0"}, "mcp_host='0.0.0.0'"),
        ({"mcp_port": "taken"}, "mcp_port="),
    ],
)
def test_bad_mcp_settings_stop_the_daemon_cleanly(
    mcp_service: Service,
    mcp_settings: Settings,
    tmp_path: Path,
    mcp: dict[str, object],
    needle: str,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        if mcp["mcp_port"] == "taken":
            mcp = {**mcp, "mcp_port": int(taken.getsockname()[1])}
        settings = _settings(mcp_settings, tmp_path, mcp_token=None, **mcp)
        with pytest.raises(InvalidRequest, match=needle):
            start_adapters(mcp_service, settings)
    # The ZeroMQ bridge started first was stopped again: its endpoint binds anew.
    stop_adapters(start_adapters(mcp_service, _settings(mcp_settings, tmp_path)))
