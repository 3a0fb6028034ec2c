"""Every shipped template: loads, renders, fits the engine's real /object_info, has an
up-to-date UI twin, and runs end to end on the engine with the tiny model."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from orchestrator.comfy import ComfyClient, fetch_outputs, run_prompt
from orchestrator.workflows import (
    TemplateLibrary,
    WorkflowValidationError,
    api_to_ui,
    default_templates_dir,
    render_twins,
    validate_against_object_info,
)

TEMPLATES = ("single_sprite", "batch_generation", "tileset", "sprite_sheet", "lora_compare")
TEMPLATES += ("fast_sprite", "autotile")
COMMON = ("prompt", "negative_prompt", "seed", "steps", "cfg", "width", "height", "checkpoint")
COMMON += ("loras", "palette", "colors", "sprite_size", "batch_size", "filename_prefix")

# Tiny but complete: the real graphs, the tiny checkpoint, 64x64 renders, 2 steps.
TINY: dict[str, Any] = {
    "prompt": "a red potion",
    "checkpoint": "tiny_sdxl.safetensors",
    "width": 64,
    "height": 64,
    "steps": 2,
    "seed": 1234,
}
EXTRA: dict[str, dict[str, Any]] = {
    "single_sprite": {},
    "batch_generation": {"batch_size": 2},
    "tileset": {"sprite_size": "16x16"},
    "sprite_sheet": {"directions": "down,up", "frames": 2},  # 4 frames, one per render
    "lora_compare": {"loras": [{"name": "tiny_lora.safetensors", "strength": 0.8}]},
    "fast_sprite": {"steps": 6},  # its own few-step default, not TINY's 2
    "autotile": {"upper_terrain": "water", "sprite_size": "16x16", "map_size": 3},
}
# Parameters a template leaves out on purpose: a corner set is always 16 tiles.
NOT_COMMON: dict[str, set[str]] = {"autotile": {"batch_size"}}


def tiny_values(name: str, **more: Any) -> dict[str, Any]:
    return {**TINY, **EXTRA[name], "filename_prefix": f"t_{name}", **more}


def test_every_template_is_shipped(library: TemplateLibrary) -> None:
    assert sorted(library.names()) == sorted(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_accepts_the_common_parameters(library: TemplateLibrary, name: str) -> None:
    params = {p.name for p in library.get(name).params}
    missing = set(COMMON) - NOT_COMMON.get(name, set()) - params
    assert not missing, f"{name} lacks {sorted(missing)}"


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_graph_is_pure_api_format(library: TemplateLibrary, name: str) -> None:
    raw = json.loads((default_templates_dir() / f"{name}.json").read_text())
    for node_id, node in raw.items():
        assert node_id.isdigit()
        assert set(node) <= {"class_type", "inputs", "_meta"}


@pytest.mark.parametrize("name", TEMPLATES)
def test_rendered_template_fits_the_engine_object_info(
    library: TemplateLibrary, engine_client: ComfyClient, name: str
) -> None:
    graph = library.get(name).render(tiny_values(name))
    validate_against_object_info(graph, engine_client.object_info())


@pytest.mark.parametrize("name", TEMPLATES)
def test_default_values_fit_the_engine_except_the_checkpoint_file(
    library: TemplateLibrary, engine_client: ComfyClient, name: str
) -> None:
    values = {"prompt": "x", "checkpoint": "tiny_sdxl.safetensors", **_required(name)}
    if name == "lora_compare":
        values["loras"] = ["tiny_lora.safetensors"]
    validate_against_object_info(library.get(name).render(values), engine_client.object_info())


def _required(name: str) -> dict[str, Any]:
    """Values of parameters other than the prompt that have no default."""
    return {"upper_terrain": "water"} if name == "autotile" else {}


def _twin_problems(committed: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """What the editor would get wrong from the committed twin.

    Node types, titles, links and every widget value must match; a node pack that later
    appends an optional input (a new slot or widget at the end) leaves the twin loadable,
    so only the committed prefix of each `widgets_values` is compared.
    """
    problems = []
    if committed["links"] != expected["links"]:
        problems.append("links differ")
    have = {n["id"]: n for n in committed["nodes"]}
    for node in expected["nodes"]:
        twin = have.get(node["id"])
        if twin is None:
            problems.append(f"node {node['id']} missing")
            continue
        if (twin["type"], twin.get("title")) != (node["type"], node.get("title")):
            problems.append(f"node {node['id']} is {twin['type']}, not {node['type']}")
        linked = [(i["name"], i["link"]) for i in twin["inputs"] if i["link"] is not None]
        if linked != [(i["name"], i["link"]) for i in node["inputs"] if i["link"] is not None]:
            problems.append(f"node {node['id']} inputs are linked differently")
        widgets = twin["widgets_values"]
        if widgets != node["widgets_values"][: len(widgets)]:
            problems.append(f"node {node['id']} widgets {widgets} != {node['widgets_values']}")
    return problems


def test_ui_twins_are_up_to_date(library: TemplateLibrary, engine_client: ComfyClient) -> None:
    for name, text in render_twins(library, engine_client.object_info()).items():
        path = default_templates_dir() / "ui" / f"{name}.json"
        assert path.is_file(), f"missing {path}: run python scripts/regenerate_ui_workflows.py"
        problems = _twin_problems(json.loads(path.read_text()), json.loads(text))
        assert not problems, (
            f"{path} is stale ({problems}): run python scripts/regenerate_ui_workflows.py"
        )


def test_stale_twin_is_detected(library: TemplateLibrary, engine_client: ComfyClient) -> None:
    expected = json.loads(render_twins(library, engine_client.object_info())["single_sprite"])
    stale = json.loads(json.dumps(expected))
    sampler = next(n for n in stale["nodes"] if n["type"] == "KSampler")
    sampler["widgets_values"][2] = 99  # steps
    stale["links"] = stale["links"][:-1]
    assert _twin_problems(stale, expected) == [
        "links differ",
        f"node {sampler['id']} widgets {sampler['widgets_values']} != "
        f"{next(n for n in expected['nodes'] if n['id'] == sampler['id'])['widgets_values']}",
    ]


@dataclass
class _Run:
    images: dict[str, list[Image.Image]]  # by output role
    texts: dict[str, list[Any]]  # JSON a role's node reported as ui text (reports, atlas)


def _run(library: TemplateLibrary, client: ComfyClient, name: str, **more: Any) -> _Run:
    template = library.get(name)
    result = run_prompt(client, template.render(tiny_values(name, **more)), timeout=240)
    role_of = {node: role for role, node in template.outputs.items()}
    run = _Run({}, {})
    for output in fetch_outputs(client, result):
        with Image.open(io.BytesIO(output.data)) as png:
            png.load()
            run.images.setdefault(role_of.get(output.node_id, output.node_id), []).append(png)
    for node_id, ui in result.outputs.items():
        for text in ui.get("text", []):
            run.texts.setdefault(role_of.get(node_id, node_id), []).append(json.loads(text))
    return run


def test_single_sprite_runs_end_to_end(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    run = _run(library, engine_client, "single_sprite", save_raw=True)
    (sprite,) = run.images["sprite"]
    (raw,) = run.images["raw"]
    assert raw.size == (64, 64)
    assert sprite.mode == "RGBA"
    assert sprite.width <= 64 and sprite.height <= 64
    (report,) = run.texts["report"]
    assert isinstance(report["pixel_perfect"], bool)


def test_the_raw_render_is_written_only_when_asked_for(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    template = library.get("single_sprite")
    raw_node = template.outputs["raw"]
    assert raw_node not in template.render(tiny_values("single_sprite"))
    assert raw_node in template.render(tiny_values("single_sprite", save_raw=True))

    run = _run(library, engine_client, "single_sprite", seed=7)

    assert len(run.images["sprite"]) == 1 and "raw" not in run.images
    assert len(run.texts["report"]) == 1


# Once single_sprite has loaded the tiny model, each of these takes well under a second.
@pytest.mark.parametrize("name", [n for n in TEMPLATES if n != "single_sprite"])
def test_template_runs_end_to_end(
    library: TemplateLibrary, engine_client: ComfyClient, name: str
) -> None:
    names = {p.name for p in library.get(name).params}
    run = _run(library, engine_client, name, **({"save_raw": True} if "save_raw" in names else {}))
    sprites = run.images["sprite"]
    assert sprites, f"{name} saved no sprite"
    assert all(img.mode == "RGBA" for img in sprites)
    if name == "batch_generation":
        assert len(sprites) == 2 and len(run.images["raw"]) == 2
        assert len(run.texts["report"]) == 2, "one QA report per sprite"
    if name == "lora_compare":
        assert len(run.images["base"]) == 1 and len(run.images["base_raw"]) == 1
        (base,), (lora,), (both,) = run.images["base"], sprites, run.images["comparison"]
        factor = both.height // max(base.height, lora.height)  # DGXP_SideBySide's auto scale
        assert both.mode == "RGBA" and factor >= 1
        assert both.size == (
            factor * (base.width + 1 + lora.width),
            factor * max(base.height, lora.height),
        )
    if name == "sprite_sheet":  # atlases and report: tests/workflows/test_sprite_sheet_template
        (sheet,) = sprites
        frames = run.images["frames"]
        assert len(frames) == 4
        assert sheet.size == (2 * frames[0].width, 2 * frames[0].height)
    if name == "autotile":
        (atlas,) = sprites
        (layout,) = run.texts["atlas"]
        (report,) = run.texts["report"]
        assert atlas.size == (4 * 16, 4 * 16) and layout["tile_size"] == [16, 16]
        assert run.images["tiled_preview"][0].size == (3 * 16, 3 * 16)
        assert report["autotile"]["edges"]["pairs"] == 128
    if name == "tileset":
        (preview,) = run.images["tiled_preview"]
        (tile,) = sprites
        assert preview.size == (tile.width * 3, tile.height * 3)
        (report,) = run.texts["report"]
        assert set(report["seams"]["render"]) == {"before", "after", "made_seamless"}
        assert report["seams"]["tile"] == report["seam_score"]


def test_fast_sprite_takes_the_few_step_path(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    graph = library.get("fast_sprite").render({"prompt": "a red potion"})
    (sampler,) = [n["inputs"] for n in graph.values() if n["class_type"] == "KSampler"]
    few_step = {"sampler_name": "lcm", "scheduler": "sgm_uniform", "steps": 6, "cfg": 1.0}
    assert {k: sampler[k] for k in few_step} == few_step
    ksampler = engine_client.object_info()["KSampler"]["input"]["required"]
    assert "lcm" in ksampler["sampler_name"][0] and "sgm_uniform" in ksampler["scheduler"][0]


@pytest.mark.parametrize("sampler", ["dpmpp_sde", "dpmpp_2m_sde_gpu"])
def test_brownian_tree_samplers_run_on_the_engine(
    library: TemplateLibrary, engine_client: ComfyClient, sampler: str
) -> None:
    values = tiny_values("fast_sprite", sampler=sampler, scheduler="karras", steps=3, save_raw=True)
    result = run_prompt(engine_client, library.get("fast_sprite").render(values), timeout=240)
    assert {o.node_id for o in fetch_outputs(engine_client, result)} >= {"11", "12"}


def test_fast_sprite_refuses_an_unknown_sampler_with_the_valid_ones(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    graph = library.get("fast_sprite").render(
        tiny_values("fast_sprite", sampler="lcm_turbo", scheduler="kl_optimal")
    )
    with pytest.raises(WorkflowValidationError) as err:
        validate_against_object_info(graph, engine_client.object_info())
    message = str(err.value)
    assert "input 'sampler_name': value 'lcm_turbo' is not in" in message
    assert "input 'scheduler': value 'kl_optimal' is not in" in message
    assert "dpmpp_2m_sde" in message and "sgm_uniform" in message, "the valid names are listed"


def test_missing_lora_and_unknown_palette_are_named_before_sending(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    graph = library.get("single_sprite").render(
        tiny_values("single_sprite", loras=["no_such_lora.safetensors"], palette="no-such-pal")
    )
    with pytest.raises(WorkflowValidationError) as err:
        validate_against_object_info(graph, engine_client.object_info())
    message = str(err.value)
    assert "(LoraLoader) input 'lora_name': value 'no_such_lora.safetensors' is not in" in message
    assert "tiny_lora.safetensors" in message, "the valid LoRA files are listed"
    assert "(DGXP_PixelizeSprite) input 'palette': value 'no-such-pal' is not in" in message


def test_missing_checkpoint_suggests_the_close_name(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    graph = library.get("single_sprite").render(
        tiny_values("single_sprite", checkpoint="tiny_sdxl.safetensor")
    )
    with pytest.raises(WorkflowValidationError, match=r"did you mean tiny_sdxl\.safetensors"):
        validate_against_object_info(graph, engine_client.object_info())


def test_rendered_graph_with_loras_gets_a_ui_twin_embedded_in_the_png(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    values = tiny_values("single_sprite", loras=["tiny_lora.safetensors:0.5"])
    graph = library.get("single_sprite").render(values)
    workflow = api_to_ui(graph, engine_client.object_info())
    lora_nodes = [n for n in workflow["nodes"] if n["type"] == "LoraLoader"]
    assert [n["widgets_values"] for n in lora_nodes] == [["tiny_lora.safetensors", 0.5, 0.5]]
    result = run_prompt(
        engine_client, graph, extra_data={"extra_pnginfo": {"workflow": workflow}}, timeout=240
    )
    sprite = next(o for o in fetch_outputs(engine_client, result) if o.node_id == "11")
    with Image.open(io.BytesIO(sprite.data)) as png:
        embedded = json.loads(png.info["workflow"])
    assert embedded == workflow
    assert json.loads(png.info["prompt"]) == graph
