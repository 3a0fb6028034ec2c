"""Every tool over `fastmcp.Client(server)` in memory, against a real Service whose
embedded engine runs the tiny model."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, cast

import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError
from mcp_testkit import TINY, checker_png, png_image
from PIL import Image

from orchestrator.deploy import read_manifest
from orchestrator.service import Service

TOOLS = {
    "generate_sprite",
    "generate_sprite_sheet",
    "generate_tileset",
    "generate_autotile",
    "pixelize_image",
    "compare_models",
    "job_status",
    "cancel_job",
    "list_templates",
    "list_models",
    "list_loras",
    "list_palettes",
    "list_projects",
    "deploy_asset",
    "train_lora",
    "training_status",
}


@pytest.fixture
def mcp_inputs(mcp_service: Service, tmp_path: Path) -> Path:
    """A folder for pictures to pixelize by path: an MCP client may name files in the data
    dir's outputs/ (or palettes/) only (test_mcp_remote_paths)."""
    folder = mcp_service.settings.resolved_output_dir / "test-inputs" / tmp_path.name
    folder.mkdir(parents=True)
    return folder


def _images(result: Any) -> list[Any]:
    return [block for block in result.content if block.type == "image"]


async def test_every_tool_is_listed(server: Any) -> None:
    async with Client(server) as client:
        assert {tool.name for tool in await client.list_tools()} == TOOLS


async def test_generate_sprite_returns_preview_paths_job_id_and_progress(server: Any) -> None:
    progress: list[tuple[float, float | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total))

    async with Client(server) as client:
        result = await client.call_tool(
            "generate_sprite",
            {"prompt": "a red potion", "seed": 3, **TINY},
            progress_handler=on_progress,
        )
    view = result.structured_content
    assert view["type"] == "job" and view["state"] == "succeeded" and view["seed"] == 3
    assert len(view["id"]) == 32
    sprite = Path(view["files"][0]["sprite"])
    assert png_image(sprite.read_bytes()).size == (8, 8)
    (image,) = _images(result)
    assert image.mime_type == "image/png"
    preview = png_image(image.data)
    assert preview.size[0] == preview.size[1] and preview.size[0] % 8 == 0
    assert preview.size[0] >= 64
    assert any(str(sprite) in block.text for block in result.content if block.type == "text")
    assert progress and progress[-1][0] == progress[-1][1] == 2.0


async def test_wait_false_returns_at_once_and_job_status_follows(server: Any) -> None:
    async with Client(server) as client:
        queued = await client.call_tool(
            "generate_sprite", {"prompt": "a blue gem", "seed": 5, "wait": False, **TINY}
        )
        job_id = queued.structured_content["id"]
        assert queued.structured_content["state"] in {"queued", "submitted", "running", "succeeded"}
        assert _images(queued) == [] or queued.structured_content["state"] == "succeeded"
        for _ in range(240):
            status = await client.call_tool("job_status", {"job_id": job_id})
            if status.structured_content["state"] == "succeeded":
                break
            await _sleep(0.5)
    assert status.structured_content["state"] == "succeeded"
    assert len(_images(status)) == 1


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


async def test_cancel_job_cancels_a_queued_or_running_job(server: Any) -> None:
    slow = {**TINY, "steps": 150, "params": {"width": 256, "height": 256}}
    async with Client(server) as client:
        queued = await client.call_tool(
            "generate_sprite", {"prompt": "a slow tree", "wait": False, **slow}
        )
        job_id = queued.structured_content["id"]
        cancelled = await client.call_tool("cancel_job", {"job_id": job_id})
        assert cancelled.structured_content["state"] == "cancelled"
        status = await client.call_tool("job_status", {"job_id": job_id})
    assert status.structured_content["state"] == "cancelled"


async def test_generate_tileset_returns_a_tile_of_the_asked_size(server: Any) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_tileset",
            {
                "prompt": "grass",
                "seed": 1,
                "tile_size": "8x8",
                "checkpoint": "tiny_sdxl.safetensors",
                "steps": 2,
                "params": {"width": 64, "height": 64},
            },
        )
    assert result.structured_content["template"] == "tileset"
    sprite = Path(result.structured_content["files"][0]["sprite"])
    assert png_image(sprite.read_bytes()).size == (8, 8)
    assert len(_images(result)) == 1
    tiled = Path(result.structured_content["files"][0]["tiled_preview"])  # delivered, listed
    assert png_image(tiled.read_bytes()).size == (24, 24)
    assert str(tiled) in result.content[0].text


async def test_generate_autotile_returns_the_atlas_its_layout_and_the_map(server: Any) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_autotile",
            {
                "lower": "grass",
                "upper": "water",
                "seed": 2,
                "tile_size": "8x8",
                "checkpoint": "tiny_sdxl.safetensors",
                "steps": 2,
                "params": {"width": 64, "height": 64, "map_size": 2},
            },
        )
    assert result.structured_content["template"] == "autotile"
    files = result.structured_content["files"][0]
    assert png_image(Path(files["sprite"]).read_bytes()).size == (32, 32)
    assert json.loads(Path(files["atlas"]).read_text())["tile_size"] == [8, 8]
    assert png_image(Path(files["tiled_preview"]).read_bytes()).size == (16, 16)
    async with Client(server) as client:
        with pytest.raises(Exception, match="upper"):
            await client.call_tool("generate_autotile", {"lower": "grass", "upper": " "})


async def test_sprite_sheet_comes_with_its_atlas_and_deploys_with_it(
    server: Any, bevy_project: Path
) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_sprite_sheet",
            {
                "prompt": "a knight walking",
                "seed": 2,
                "directions": ["down"],
                "frames": 2,
                "size": "8x8",
                "checkpoint": "tiny_sdxl.safetensors",
                "steps": 2,
                "params": {"width": 64, "height": 64},
            },
        )
        job_id = result.structured_content["id"]
        served = await client.read_resource(f"dgx-pixels://jobs/{job_id}/atlas")
        await client.call_tool(
            "deploy_asset", {"job_id": job_id, "project": "game", "name": "chars/knight"}
        )
    files = result.structured_content["files"][0]
    atlas = json.loads(Path(files["atlas"]).read_text())
    assert len(atlas["frames"]) == 2
    assert json.loads(served[0].text) == atlas
    assert len(_images(result)) == 1
    deployed = json.loads((bevy_project / "assets/chars/knight.json").read_text())
    assert deployed["meta"]["image"] == "knight.png"
    assert deployed["frames"] == atlas["frames"]
    sheet = bevy_project / "assets/chars/knight.png"
    assert sheet.read_bytes() == Path(files["sprite"]).read_bytes()
    bevy = json.loads(Path(files["bevy_atlas"]).read_text())
    assert (bevy["columns"], bevy["rows"], bevy["tile_size"]) == (2, 1, [8, 8])
    assert [a["name"] for a in bevy["animations"]] == ["walk_down"]
    assert Path(files["animation"]).suffix == ".gif"
    deployed_bevy = json.loads((bevy_project / "assets/chars/knight.bevy.json").read_text())
    assert deployed_bevy == {**bevy, "image": "knight.png"}  # next to the sheet it names
    text = " ".join(c.text for c in result.content if hasattr(c, "text"))
    assert "Bevy atlas:" in text and "animation:" in text


async def test_sprite_sheet_with_an_unknown_direction_is_a_tool_error_naming_it(
    server: Any,
) -> None:
    async with Client(server) as client:
        with pytest.raises(ToolError, match="sideways"):
            await client.call_tool(
                "generate_sprite_sheet", {"prompt": "a knight", "directions": ["sideways"]}
            )


async def test_compare_models_runs_each_variant_with_one_seed_and_the_given_params(
    server: Any,
) -> None:
    variants = [
        {"label": "base", "checkpoint": "tiny_sdxl.safetensors"},
        {
            "label": "lora",
            "checkpoint": "tiny_sdxl.safetensors",
            "loras": [{"name": "tiny_lora.safetensors", "strength": 0.8}],
        },
    ]
    args = {"prompt": "a potion", "seed": 2**64 - 1, "variants": variants, "steps": 2}
    async with Client(server) as client:
        result = await client.call_tool(
            "compare_models", {**args, "params": {"width": 64, "height": 64}}
        )
    jobs = result.structured_content["jobs"]
    assert [j["label"] for j in jobs] == ["base", "lora"]
    assert {j["seed"] for j in jobs} == {2**64 - 1}
    assert [j["state"] for j in jobs] == ["succeeded", "succeeded"]
    assert len(_images(result)) == 2


async def test_generate_sprite_takes_the_largest_seed(server: Any, mcp_service: Service) -> None:
    async with Client(server) as client:
        queued = await client.call_tool(
            "generate_sprite", {"prompt": "a gem", "seed": 2**64 - 1, "wait": False, **TINY}
        )
    job = mcp_service.get_job(queued.structured_content["id"])
    assert job.seed == queued.structured_content["seed"] == 2**64 - 1
    assert mcp_service.wait(job.id, 240).seed == 2**64 - 1


async def test_pixelize_image_from_path_and_from_base64_agree(
    server: Any, mcp_inputs: Path
) -> None:
    picture = mcp_inputs / "checker.png"
    picture.write_bytes(checker_png())
    args = {"size": "8x8", "remove_background": "none"}
    async with Client(server) as client:
        from_path = await client.call_tool("pixelize_image", {"path": str(picture), **args})
        from_b64 = await client.call_tool(
            "pixelize_image",
            {"image_base64": base64.b64encode(picture.read_bytes()).decode(), **args},
        )
    for result in (from_path, from_b64):
        assert (result.structured_content["width"], result.structured_content["height"]) == (8, 8)
        assert len(_images(result)) == 1
    a = png_image(Path(from_path.structured_content["files"]["sprite"]).read_bytes())
    b = png_image(Path(from_b64.structured_content["files"]["sprite"]).read_bytes())
    assert a.convert("RGBA").tobytes() == b.convert("RGBA").tobytes()
    sprite = a.convert("RGBA")
    # One sprite pixel per 8-px checker cell; the palette fit may nudge colours slightly.
    red = cast(tuple[int, ...], sprite.getpixel((0, 0)))
    blue = cast(tuple[int, ...], sprite.getpixel((1, 0)))
    assert sprite.getpixel((1, 1)) == red and sprite.getpixel((0, 1)) == blue
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0] and red[3] == blue[3] == 255


async def test_catalogue_tools_list_the_tiny_model_lora_palettes_and_templates(
    server: Any,
) -> None:
    async with Client(server) as client:
        models = (await client.call_tool("list_models", {})).structured_content["items"]
        loras = (await client.call_tool("list_loras", {})).structured_content["items"]
        palettes = (await client.call_tool("list_palettes", {})).structured_content["items"]
        templates = (await client.call_tool("list_templates", {})).structured_content["items"]
    assert "tiny_sdxl.safetensors" in [m["name"] for m in models]
    assert "tiny_lora.safetensors" in [m["name"] for m in loras]
    assert "pico-8" in palettes
    names = {t["name"] for t in templates}
    assert {"single_sprite", "sprite_sheet", "tileset"} <= names


async def test_list_projects_shows_registered_projects(server: Any, bevy_project: Path) -> None:
    async with Client(server) as client:
        result = await client.call_tool("list_projects", {})
    (project,) = result.structured_content["projects"]
    assert project["name"] == "game" and project["usable"] is True
    assert project["root"] == str(bevy_project.resolve())


async def test_deploy_asset_writes_sprite_and_manifest(
    server: Any, bevy_project: Path, sprite_job_id: str, mcp_service: Service
) -> None:
    async with Client(server) as client:
        plan = await client.call_tool(
            "deploy_asset",
            {"job_id": sprite_job_id, "project": "game", "name": "potion", "dry_run": True},
        )
        assert not (bevy_project / "assets" / "generated").exists()
        done = await client.call_tool(
            "deploy_asset", {"job_id": sprite_job_id, "project": "game", "name": "potion"}
        )
    assert plan.structured_content["dry_run"] is True
    assert [w["action"] for w in plan.structured_content["writes"]] == ["create", "create"]
    assert done.structured_content["asset"] == "generated/potion.png"
    final = bevy_project / "assets" / "generated" / "potion.png"
    sprite = Path(mcp_service.outputs(sprite_job_id).sprite or "")
    assert final.read_bytes() == sprite.read_bytes()
    entry = read_manifest(bevy_project / "assets/generated/manifest.json").manifest.entries[
        "generated/potion.png"
    ]
    assert (entry.job_id, entry.prompt, entry.seed) == (sprite_job_id, "a red potion", 11)
    assert entry.model == "tiny_sdxl.safetensors"


async def test_deploy_overwrite_keeps_a_backup(
    server: Any, bevy_project: Path, sprite_job_id: str
) -> None:
    final = bevy_project / "assets" / "generated" / "potion.png"
    final.parent.mkdir(parents=True)
    final.write_bytes(b"old sprite")
    async with Client(server) as client:
        done = await client.call_tool(
            "deploy_asset",
            {"job_id": sprite_job_id, "project": "game", "name": "potion", "overwrite": True},
        )
    sprite_write = done.structured_content["writes"][0]
    assert sprite_write["action"] == "overwrite"
    assert Path(sprite_write["backup"]).read_bytes() == b"old sprite"
    assert final.read_bytes().startswith(b"\x89PNG")


async def test_job_resources_serve_record_sidecar_sprite_and_manifest(
    server: Any, sprite_job_id: str, mcp_service: Service
) -> None:
    base = f"dgx-pixels://jobs/{sprite_job_id}"
    async with Client(server) as client:
        record = json.loads((await client.read_resource(base))[0].text)
        sidecar = json.loads((await client.read_resource(f"{base}/sidecar"))[0].text)
        sprite = (await client.read_resource(f"{base}/sprite"))[0]
        preview = (await client.read_resource(f"{base}/preview"))[0]
        await client.call_tool(
            "deploy_asset", {"job_id": sprite_job_id, "project": "game", "name": "a"}
        )
        manifest = json.loads(
            (await client.read_resource("dgx-pixels://projects/game/manifest"))[0].text
        )
    assert record["id"] == sprite_job_id and record["state"] == "succeeded"
    assert isinstance(sidecar, dict) and sidecar
    expected = Path(mcp_service.outputs(sprite_job_id).sprite or "").read_bytes()
    assert sprite.mime_type == "image/png" and base64.b64decode(sprite.blob) == expected
    assert png_image(base64.b64decode(preview.blob)).size[0] >= 64
    assert list(manifest["entries"]) == ["generated/a.png"]


async def test_pixelized_output_can_be_deployed_by_path(
    server: Any, bevy_project: Path, mcp_inputs: Path
) -> None:
    picture = mcp_inputs / "checker.png"
    picture.write_bytes(checker_png())
    async with Client(server) as client:
        made = await client.call_tool(
            "pixelize_image", {"path": str(picture), "size": "8x8", "remove_background": "none"}
        )
        sprite = made.structured_content["files"]["sprite"]
        done = await client.call_tool(
            "deploy_asset", {"path": sprite, "project": "game", "name": "ui/checker"}
        )
    assert done.structured_content["asset"] == "ui/checker.png"
    assert (bevy_project / "assets/ui/checker.png").read_bytes() == Path(sprite).read_bytes()


async def test_a_fully_transparent_picture_comes_back_with_qa_warnings(
    server: Any, mcp_inputs: Path
) -> None:
    picture = mcp_inputs / "ghost.png"
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(picture)
    async with Client(server) as client:
        result = await client.call_tool(
            "pixelize_image", {"path": str(picture), "size": "8x8", "remove_background": "none"}
        )
    warnings = result.structured_content["qa_warnings"]
    assert "the sprite is fully transparent" in warnings
    assert "QA warnings:" in result.content[0].text  # not a clean success in the text either
    sidecar = json.loads(Path(result.structured_content["files"]["sidecar"]).read_text())
    assert sidecar["qa_warnings"] == warnings


async def test_compare_models_labels_unlabelled_variants_by_the_service_rule(
    server: Any, mcp_service: Service
) -> None:
    variants = [{}, {"loras": [{"name": "tiny_lora.safetensors"}]}]
    args = {"prompt": "a potion", "variants": variants, "steps": 1, "wait": False}
    async with Client(server) as client:
        result = await client.call_tool(
            "compare_models", {**args, "params": {"width": 64, "height": 64}}
        )
    jobs = result.structured_content["jobs"]
    assert [j["label"] for j in jobs] == ["base", "tiny_lora"]
    for job in jobs:  # let them finish, so no job outlives the test's engine
        mcp_service.wait(job["id"], 240)
