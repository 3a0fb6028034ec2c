"""Bad input gets a clear tool error naming the problem; the server keeps serving and no
asset or job is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError
from mcp_testkit import TINY, tree

from orchestrator.service import Service


async def _still_serving(client: Any) -> None:
    palettes = await client.call_tool("list_palettes", {})
    assert "pico-8" in palettes.structured_content["items"]


@pytest.mark.parametrize(
    ("tool", "args", "needle"),
    [
        ("pixelize_image", {"image_base64": "not base64 !!"}, "image_base64="),
        ("pixelize_image", {"image_base64": "aGVsbG8="}, "image"),  # valid base64, not a picture
        ("pixelize_image", {}, "give exactly one"),
        ("pixelize_image", {"path": "/no/such/file.png"}, "path="),
        (
            "pixelize_image",
            {"image_base64": "aGVsbG8=", "palette": "pico-8", "colors": 8},
            "palette/colors=",  # they contradict: refused by the service, as in the CLI
        ),
        ("generate_sprite", {"prompt": "x", "palette": "no-such-palette", **TINY}, "palette="),
        (
            "generate_sprite",
            {"prompt": "x", "loras": [{"name": "no_such_lora.safetensors"}], **TINY},
            "no_such_lora",
        ),
        (
            "generate_sprite",
            {"prompt": "x", "template": "no_such_template", **TINY},
            "no_such_template",
        ),
        (
            "generate_sprite",
            {**TINY, "prompt": "x", "checkpoint": "missing.safetensors"},
            "missing",
        ),
        ("generate_sprite", {**TINY, "prompt": "x", "size": "4096x4096"}, "1..1024"),
        ("generate_sprite", {**TINY, "prompt": "x", "size": "big"}, "WIDTHxHEIGHT"),
        ("generate_sprite", {**TINY, "prompt": "x", "params": {"bogus": 1}}, "bogus"),
        (
            "compare_models",
            {
                "prompt": "x",
                "variants": [{"label": "a"}, {"label": "b"}],
                "params": {"width": 100_000},
            },
            "width",
        ),
        (
            "compare_models",
            {"prompt": "x", "variants": [{"label": "a"}, {"checkpoint": "a.safetensors"}]},
            "also the label of",  # the service's label rule makes both 'a'
        ),
        ("job_status", {"job_id": "0000deadbeef"}, "no such job"),
        ("cancel_job", {"job_id": "0000deadbeef"}, "no such job"),
    ],
)
async def test_bad_generation_input_is_a_tool_error_and_the_server_keeps_serving(
    server: Any, mcp_service: Service, tool: str, args: dict[str, Any], needle: str
) -> None:
    before = len(mcp_service.list_jobs(limit=10_000))
    async with Client(server) as client:
        with pytest.raises(ToolError, match=needle):
            await client.call_tool(tool, args)
        await _still_serving(client)
    assert len(mcp_service.list_jobs(limit=10_000)) == before


@pytest.mark.parametrize(
    ("project", "name", "needle"),
    [
        ("game", "../escape", "traversal"),
        ("game", "generated/../../../etc/x.png", "traversal"),
        ("game", "/etc/passwd", "absolute"),
        ("game", "a b c", "unsupported component"),
        ("game", "potion.exe", "must end in"),
        ("other", "potion", "not a registered Bevy project"),
        ("/tmp", "potion", "not a registered Bevy project"),
    ],
)
async def test_unsafe_deploys_are_refused_and_no_asset_is_touched(
    server: Any,
    bevy_project: Path,
    sprite_job_id: str,
    project: str,
    name: str,
    needle: str,
) -> None:
    keep = bevy_project / "assets" / "generated" / "keep.png"
    keep.parent.mkdir(parents=True)
    keep.write_bytes(b"precious")
    before = tree(bevy_project.parent)
    async with Client(server) as client:
        with pytest.raises(ToolError, match=needle):
            await client.call_tool(
                "deploy_asset", {"job_id": sprite_job_id, "project": project, "name": name}
            )
        await _still_serving(client)
    assert tree(bevy_project.parent) == before


async def test_symlink_out_of_the_project_is_refused(
    server: Any, bevy_project: Path, sprite_job_id: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (bevy_project / "assets" / "generated").symlink_to(outside)
    async with Client(server) as client:
        with pytest.raises(ToolError, match="link"):
            await client.call_tool(
                "deploy_asset", {"job_id": sprite_job_id, "project": "game", "name": "potion"}
            )
    assert list(outside.iterdir()) == []


async def test_existing_asset_is_kept_without_overwrite(
    server: Any, bevy_project: Path, sprite_job_id: str
) -> None:
    final = bevy_project / "assets" / "generated" / "potion.png"
    final.parent.mkdir(parents=True)
    final.write_bytes(b"precious")
    async with Client(server) as client:
        with pytest.raises(ToolError, match="overwrite=true"):
            await client.call_tool(
                "deploy_asset", {"job_id": sprite_job_id, "project": "game", "name": "potion"}
            )
    assert final.read_bytes() == b"precious"


async def test_deploying_an_unknown_or_unfinished_job_is_refused(
    server: Any, bevy_project: Path
) -> None:
    async with Client(server) as client:
        with pytest.raises(ToolError, match="no such job"):
            await client.call_tool(
                "deploy_asset", {"job_id": "ffff0000", "project": "game", "name": "potion"}
            )
        slow = {**TINY, "steps": 150, "params": {"width": 256, "height": 256}}
        queued = await client.call_tool("generate_sprite", {"prompt": "x", "wait": False, **slow})
        job_id = queued.structured_content["id"]
        try:
            with pytest.raises(ToolError, match="only a succeeded job"):
                await client.call_tool(
                    "deploy_asset", {"job_id": job_id, "project": "game", "name": "potion"}
                )
        finally:
            await client.call_tool("cancel_job", {"job_id": job_id})
    assert list((bevy_project / "assets").iterdir()) == []


async def test_deploy_by_path_only_takes_files_from_the_outputs_folder(
    server: Any, bevy_project: Path, sprite_job_id: str, tmp_path: Path
) -> None:
    stray = tmp_path / "stray.png"
    stray.write_bytes(b"\x89PNG not ours")
    async with Client(server) as client:
        for args, needle in [
            ({"path": str(stray)}, "outputs folder"),
            ({"path": "/etc/passwd"}, "outputs folder"),
            ({}, "exactly one"),
            ({"path": str(stray), "job_id": sprite_job_id}, "exactly one"),
        ]:
            with pytest.raises(ToolError, match=needle):
                await client.call_tool("deploy_asset", {"project": "game", "name": "x", **args})
    assert list((bevy_project / "assets").iterdir()) == []


async def test_schema_violations_are_rejected_before_the_tool_runs(server: Any) -> None:
    async with Client(server) as client:
        with pytest.raises(ToolError):
            await client.call_tool("generate_sprite", {"prompt": ""})
        with pytest.raises(ToolError):
            await client.call_tool("generate_sprite", {"prompt": "x", "steps": 100_000})
        with pytest.raises(ToolError, match="18446744073709551615"):
            await client.call_tool("generate_sprite", {"prompt": "x", "seed": 2**64})
        await _still_serving(client)
