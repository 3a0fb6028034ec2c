"""End to end through the real CLI: `dgx-pixels mcp` over stdio, and over streamable HTTP
with a bearer token (401 without it), each generating with the tiny model and deploying."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fixtures.ports import free_port
from mcp.shared.exceptions import MCPError
from mcp_testkit import TINY, forged_post, post_status

DGX_PIXELS = str(Path(sys.executable).with_name("dgx-pixels"))
TOKEN = "test-token-7f3a"


@pytest.fixture
def cli_env(tmp_path: Path, engine_models_dir: Path, bevy_project: Path) -> dict[str, str]:
    """Environment for a `dgx-pixels mcp` subprocess: its own data dir, the tiny model."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DGXP_")}
    (tmp_path / "absent.toml").write_text("")  # a named config file must exist
    env.update(
        DGXP_DATA_DIR=str(tmp_path / "cli-data"),
        DGXP_MODELS_DIR=str(engine_models_dir),
        DGXP_BEVY_PROJECTS=json.dumps([str(bevy_project)]),
        DGXP_WORKERS="1",
        DGXP_CONFIG=str(tmp_path / "absent.toml"),
    )
    return env


async def _generate_and_deploy(client: Any, bevy_project: Path) -> None:
    made = await client.call_tool("generate_sprite", {"prompt": "a coin", "seed": 4, **TINY})
    assert made.structured_content["state"] == "succeeded"
    assert [b.type for b in made.content].count("image") == 1
    job_id = made.structured_content["id"]
    await client.call_tool("deploy_asset", {"job_id": job_id, "project": "game", "name": "coin"})
    assert (bevy_project / "assets" / "generated" / "coin.png").read_bytes()[:4] == b"\x89PNG"


async def test_stdio_end_to_end(
    cli_env: dict[str, str], bevy_project: Path, tmp_path: Path
) -> None:
    stderr = tmp_path / "stderr.log"
    cli_env["DGXP_MCP_TOKEN"] = TOKEN  # guards HTTP only: stdio has no headers to carry it
    transport = StdioTransport(
        command=DGX_PIXELS, args=["mcp"], env=cli_env, cwd=str(tmp_path), log_file=stderr
    )
    async with Client(transport, timeout=240) as client:
        await _generate_and_deploy(client, bevy_project)
        # A malformed call is a tool error; the process keeps serving.
        bad = await client.call_tool(
            "pixelize_image", {"image_base64": "%%%"}, raise_on_error=False
        )
        assert bad.is_error
        assert (await client.call_tool("list_palettes", {})).structured_content["items"]


@pytest.fixture
def http_server(cli_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`dgx-pixels mcp --http --token ...` on a free port; yields its endpoint URL."""
    port = free_port()
    log = (tmp_path / "http.log").open("wb")
    proc = subprocess.Popen(
        [DGX_PIXELS, "mcp", "--http", "--port", str(port), "--token", TOKEN],
        env=cli_env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "http.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


async def test_http_end_to_end_with_and_without_token(http_server: str, bevy_project: Path) -> None:
    assert post_status(http_server, None) == 401
    assert post_status(http_server, "wrong-token") == 401
    assert post_status(http_server, TOKEN) != 401
    # The CLI's server has the daemon's DNS-rebinding guard (test_mcp_host_origin).
    assert forged_post(http_server, TOKEN, host="evil.example")[0] == 421
    assert forged_post(http_server, TOKEN, origin="http://evil.example")[0] == 403
    with pytest.raises(MCPError):
        async with Client(http_server, auth="wrong-token") as client:
            await client.list_tools()
    async with Client(http_server, auth=TOKEN, timeout=240) as client:
        await _generate_and_deploy(client, bevy_project)
