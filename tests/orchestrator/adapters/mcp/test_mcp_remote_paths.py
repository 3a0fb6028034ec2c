"""An MCP client is remote: `palette` and `path` arguments may name built-in palettes or
files in the data dir's palettes/ and outputs/ only (in-memory `fastmcp.Client`, the real
service, a real secret file outside those folders). No error quotes a file's content."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from mcp_testkit import TINY, checker_png

from orchestrator.service import Service

SECRET = "TOPSECRET-do-not-echo"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.gpl"
    path.parent.mkdir()
    path.write_text(f"GIMP Palette\n{SECRET} 1 2\n")
    return path


def _text(result: Any) -> str:
    return " ".join(getattr(part, "text", "") for part in result.content)


async def test_generate_with_a_palette_file_outside_is_refused(
    server: Any, mcp_service: Service, secret: Path
) -> None:
    async with Client(server) as client:
        for args in (
            {"palette": str(secret)},
            {"params": {**TINY["params"], "palette": str(secret)}},
        ):
            result = await client.call_tool(
                "generate_sprite", {"prompt": "a key", **TINY, **args}, raise_on_error=False
            )
            assert result.is_error
            text = _text(result)
            assert str(secret) in text and "remote clients may only name .gpl/.hex" in text
            assert str(mcp_service.settings.data_dir / "palettes") in text
            assert SECRET not in text


async def test_pixelize_of_a_file_outside_is_refused_without_saying_if_it_exists(
    server: Any, tmp_path: Path
) -> None:
    picture = tmp_path / "outside" / "hero.png"
    picture.parent.mkdir(exist_ok=True)
    picture.write_bytes(checker_png())
    async with Client(server) as client:
        texts = []
        for path in (picture, picture.with_name("missing.png")):
            result = await client.call_tool(
                "pixelize_image", {"path": str(path), "size": "8x8"}, raise_on_error=False
            )
            assert result.is_error
            texts.append(_text(result).replace(path.name, "NAME"))
    assert "remote clients may only name files under" in texts[0]
    assert texts[0] == texts[1]  # existing or not: the same answer


async def test_pixelize_reads_the_outputs_folder_and_refuses_a_foreign_palette(
    server: Any, mcp_service: Service, secret: Path
) -> None:
    inside = mcp_service.settings.resolved_output_dir / "remote-input" / "hero.png"
    inside.parent.mkdir(parents=True, exist_ok=True)
    inside.write_bytes(checker_png())
    async with Client(server) as client:
        ok = await client.call_tool("pixelize_image", {"path": str(inside), "size": "8x8"})
        assert Path(ok.structured_content["files"]["sprite"]).is_file()
        bad = await client.call_tool(
            "pixelize_image",
            {"path": str(inside), "size": "8x8", "palette": str(secret)},
            raise_on_error=False,
        )
    assert bad.is_error and SECRET not in _text(bad) and "palette=" in _text(bad)
