"""The `dgx-pixels mcp` command's guards and the server's small parts (no engine needed)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app
from orchestrator.adapters.mcp.auth import SharedTokenVerifier
from orchestrator.adapters.mcp.media import decode_base64_image
from orchestrator.errors import InvalidRequest


def test_http_on_a_public_address_without_a_token_is_refused() -> None:
    result = CliRunner().invoke(app, ["mcp", "--http", "--host", "0.0.0.0", "--port", "9"])
    assert result.exit_code == 2
    assert "--token" in result.output


def test_mcp_help_teaches_both_transports() -> None:
    result = CliRunner().invoke(app, ["mcp", "--help"])
    assert result.exit_code == 0
    for needle in ("--http", "--port", "--token", "--host", "claude mcp add"):
        assert needle in result.output


@pytest.mark.parametrize(
    "text",
    [
        base64.b64encode(b"\x89PNG data").decode(),
        "data:image/png;base64," + base64.b64encode(b"\x89PNG data").decode(),
        "iVBO\nRyBk\n YXRh",  # line-wrapped base64 of b"\x89PNG data"
    ],
)
def test_base64_images_decode_with_data_urls_and_line_breaks(text: str) -> None:
    assert decode_base64_image(text) == b"\x89PNG data"


@pytest.mark.parametrize("text", ["%%%", "abc", "", "data:image/png;base64,"])
def test_malformed_base64_names_the_argument(text: str) -> None:
    with pytest.raises(InvalidRequest, match="image_base64="):
        decode_base64_image(text)


async def test_token_verifier_accepts_only_its_token() -> None:
    verifier = SharedTokenVerifier("s3cret")
    assert await verifier.verify_token("s3cret") is not None
    assert await verifier.verify_token("s3cre") is None
    assert await verifier.verify_token("") is None
    with pytest.raises(ValueError, match="token"):
        SharedTokenVerifier("")


def test_stdio_beside_a_running_service_starts_and_keeps_stdout_clean(
    mcp_service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The session service holds this data dir (as `dgx-pixels serve` would); the MCP server
    # still starts (its jobs run in the holder) and exits cleanly when stdin closes.
    monkeypatch.setenv("DGXP_DATA_DIR", str(mcp_service.settings.data_dir))
    monkeypatch.setenv("DGXP_MODELS_DIR", str(mcp_service.settings.resolved_models_dir))
    result = CliRunner().invoke(app, ["mcp"], input="")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # stdout is the protocol: no logs, no banner
