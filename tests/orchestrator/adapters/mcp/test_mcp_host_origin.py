"""DNS-rebinding guard of MCP over HTTP (`serve --mcp-port`; `mcp --http` shares the app,
see test_mcp_transports): a real server on a real socket, requests with forged Host/Origin
headers sent by `requests`. Loopback names pass; other names need a token and
`mcp_allowed_hosts`, and a refusal says which header and how to allow a name."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastmcp import Client
from mcp_testkit import forged_post

from orchestrator.adapters.mcp.http import McpHttpServer, start_mcp_http
from orchestrator.errors import InvalidRequest
from orchestrator.service import Service
from orchestrator.settings import Settings

TOKEN = "rebinding-token"


@pytest.fixture
def serve(mcp_service: Service, mcp_settings: Settings) -> Iterator[Callable[..., McpHttpServer]]:
    """`serve(**settings)` starts the daemon's MCP HTTP adapter on a free port."""
    started: list[McpHttpServer] = []

    def start(**fields: object) -> McpHttpServer:
        settings = mcp_settings.model_copy(update={"mcp_port": 0, **fields})
        started.append(start_mcp_http(mcp_service, settings))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_loopback_names_with_the_served_port_are_answered(
    serve: Callable[..., McpHttpServer],
) -> None:
    server = serve(mcp_token=None)
    for host in ("localhost", "127.0.0.1", "[::1]"):
        status, body = forged_post(server.url, host=f"{host}:{server.port}")
        assert status == 200, body
        status, body = forged_post(server.url, origin=f"http://{host}:{server.port}")
        assert status == 200, body


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}", "10.1.2.3"]
)
def test_a_foreign_host_header_is_refused_with_421_naming_it(
    serve: Callable[..., McpHttpServer], host: str
) -> None:
    server = serve(mcp_token=None)
    forged = host.format(port=server.port)
    status, body = forged_post(server.url, host=forged)
    assert status == 421
    assert repr(forged) in body and "mcp_allowed_hosts" in body and "localhost" in body


def test_a_loopback_host_on_another_port_is_refused(serve: Callable[..., McpHttpServer]) -> None:
    server = serve(mcp_token=None)
    status, body = forged_post(server.url, host=f"localhost:{server.port + 1}")
    assert status == 421 and f"not {server.port}" in body


@pytest.mark.parametrize("host", ["", "user@localhost", "local host:1"])
def test_a_missing_or_malformed_host_header_is_a_400(
    serve: Callable[..., McpHttpServer], host: str
) -> None:
    server = serve(mcp_token=None)
    status, body = forged_post(server.url, host=host)
    assert status == 400 and "Host" in body


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "https://evil.example:443", "null", "file://localhost.evil"]
)
def test_a_foreign_origin_is_refused_with_403_naming_it(
    serve: Callable[..., McpHttpServer], origin: str
) -> None:
    server = serve(mcp_token=None)
    status, body = forged_post(server.url, origin=origin)
    assert status == 403
    assert repr(origin) in body and "mcp_allowed_hosts" in body


async def test_allowed_hosts_with_a_token_admit_that_name_only(
    serve: Callable[..., McpHttpServer],
) -> None:
    server = serve(mcp_token=TOKEN, mcp_allowed_hosts=["sprites.lan"])
    named = {"host": f"sprites.lan:{server.port}", "origin": f"http://sprites.lan:{server.port}"}
    assert forged_post(server.url, TOKEN, **named)[0] == 200
    assert forged_post(server.url, None, **named)[0] == 401  # the name alone is not enough
    assert forged_post(server.url, TOKEN, host="evil.example")[0] == 421
    async with Client(server.url, auth=TOKEN) as client:  # the guard lets real clients through
        assert "pico-8" in (await client.call_tool("list_palettes", {})).structured_content["items"]


def test_allowed_hosts_without_a_token_stop_the_adapter_before_it_binds(
    mcp_service: Service, mcp_settings: Settings
) -> None:
    settings = mcp_settings.model_copy(
        update={"mcp_port": 0, "mcp_token": None, "mcp_allowed_hosts": ["sprites.lan"]}
    )
    with pytest.raises(InvalidRequest, match=r"mcp_allowed_hosts=\['sprites.lan'\].*token"):
        start_mcp_http(mcp_service, settings)


def test_allowed_hosts_reach_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DGXP_MCP_ALLOWED_HOSTS", '["sprites.lan", "10.0.0.5"]')
    assert Settings(data_dir=tmp_path).mcp_allowed_hosts == ["sprites.lan", "10.0.0.5"]


def test_the_cli_refuses_allowed_hosts_without_a_token(tmp_path: Path) -> None:
    dgx_pixels = str(Path(sys.executable).with_name("dgx-pixels"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DGXP_")}
    env.update(DGXP_DATA_DIR=str(tmp_path / "data"), COLUMNS="40")
    done = subprocess.run(
        [dgx_pixels, "mcp", "--http", "--allowed-host", "sprites.lan"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    said = " ".join(done.stderr.split())  # the usage box may wrap at 40 columns
    assert "--allowed-host" in said and "token" in said
    assert not (tmp_path / "data" / "jobs.sqlite3").exists()  # refused before any service
