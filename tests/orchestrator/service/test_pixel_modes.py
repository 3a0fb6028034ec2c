"""Adapters' mode types are read from the pixel core's registry: a name added there is
accepted by pydantic, offered in the MCP tool schema and shown in the CLI help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client, FastMCP
from pydantic import TypeAdapter, ValidationError

from orchestrator.adapters.mcp.tools_pixelize import register_pixelize_tool
from orchestrator.service.pixel_modes import (
    BACKGROUND_MODES,
    DITHER_MODES,
    DOWNSCALE_MODES,
    BackgroundChoice,
    DitherChoice,
    DownscaleChoice,
    ModeVocabulary,
)

REPO = Path(__file__).resolve().parents[3]
CHOICES = [(DitherChoice, DITHER_MODES), (BackgroundChoice, BACKGROUND_MODES)]
CHOICES += [(DownscaleChoice, DOWNSCALE_MODES)]


@pytest.mark.parametrize(("choice", "vocabulary"), CHOICES, ids=lambda v: str(v)[:20])
def test_every_registry_name_validates_and_is_the_schema_enum(
    choice: Any, vocabulary: ModeVocabulary
) -> None:
    adapter: TypeAdapter[str] = TypeAdapter(choice)
    names = list(vocabulary)
    assert [adapter.validate_python(name) for name in names] == names
    assert adapter.json_schema() == {"type": "string", "enum": names}


def test_an_unknown_mode_is_refused_naming_the_argument_and_the_valid_names() -> None:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(DitherChoice).validate_python("sparkle")
    message = str(info.value)
    assert "dither='sparkle' is unknown" in message
    assert ", ".join(DITHER_MODES) in message


async def _pixelize_schema() -> dict[str, object]:
    mcp = FastMCP("modes")
    register_pixelize_tool(mcp, service=None)  # type: ignore[arg-type]  # schema only
    async with Client(mcp) as client:
        (tool,) = await client.list_tools()
    properties = tool.input_schema["properties"]
    assert isinstance(properties, dict)
    return properties


async def test_the_mcp_tool_offers_exactly_the_registry_names() -> None:
    properties = await _pixelize_schema()
    assert properties["dither"]["enum"] == list(DITHER_MODES)  # type: ignore[index]
    assert properties["remove_background"]["enum"] == list(BACKGROUND_MODES)  # type: ignore[index]


async def test_a_name_added_to_the_registry_reaches_pydantic_and_mcp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(DITHER_MODES, "names", (*DITHER_MODES.names, "sparkle"))
    assert TypeAdapter(DitherChoice).validate_python("sparkle") == "sparkle"
    properties = await _pixelize_schema()
    assert properties["dither"]["enum"][-1] == "sparkle"  # type: ignore[index]


_HELP_WITH_SPARKLE = """
from comfy_nodes.pixel.modes import DITHER_MODES
DITHER_MODES.names = (*DITHER_MODES.names, "sparkle")
from orchestrator.adapters.cli.app import app
app(["pixelize", "--help"])
"""


def test_a_name_added_to_the_registry_reaches_the_cli_help() -> None:
    env = {**os.environ, "COLUMNS": "300"}
    done = subprocess.run(
        [sys.executable, "-c", _HELP_WITH_SPARKLE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    # Whitespace removed: click wraps help text at its own width.
    squeezed = "".join(done.stdout.split())
    assert ",".join((*DITHER_MODES, "sparkle")) + "." in squeezed, done.stderr
