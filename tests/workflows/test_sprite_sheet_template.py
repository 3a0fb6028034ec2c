"""The `sprite_sheet` template grows one reference frame into every frame of a sheet: the
expanded graph is plain API format the engine's `/object_info` accepts, every later frame is
img2img from the reference with a seed family, and it runs as one prompt end to end."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from orchestrator.comfy import ComfyClient, fetch_outputs, run_prompt
from orchestrator.workflows import (
    TemplateLibrary,
    TemplateParameterError,
    validate_against_object_info,
)
from orchestrator.workflows.expansion import SHEET_DIRECTIONS, frame_count

TINY: dict[str, Any] = {
    "prompt": "a knight",
    "checkpoint": "tiny_sdxl.safetensors",
    "width": 64,
    "height": 64,
    "steps": 2,
    "seed": 41,
    "filename_prefix": "t_sheet",
}


def _of(graph: dict[str, Any], class_type: str) -> dict[str, dict[str, Any]]:
    return {k: n for k, n in graph.items() if n["class_type"] == class_type}


def test_four_directions_of_four_frames_grow_sixteen_samplers_with_a_seed_family(
    library: TemplateLibrary,
) -> None:
    graph = library.get("sprite_sheet").render({**TINY, "directions": "down,left,right,up"})

    samplers = _of(graph, "KSampler")
    assert sorted(s["inputs"]["seed"] for s in samplers.values()) == list(range(41, 57))
    (reference,) = (k for k, s in samplers.items() if s["inputs"]["denoise"] == 1.0)
    turns = [s for s in samplers.values() if s["inputs"]["denoise"] == 0.7]
    assert len(turns) == 3 and all(s["inputs"]["latent_image"] == [reference, 0] for s in turns)
    assert sum(s["inputs"]["denoise"] == 0.45 for s in samplers.values()) == 12
    assert len(_of(graph, "ImageBatch")) == 15 and len(_of(graph, "VAEDecode")) == 16
    (sheet,) = _of(graph, "DGXP_AssembleAnimationSheet").values()
    assert sheet["inputs"]["directions"] == "down,left,right,up"
    assert sheet["inputs"]["frames_per_direction"] == 4
    last_batch = graph[sheet["inputs"]["frames"][0]]
    assert last_batch["class_type"] == "ImageBatch"
    texts = [n["inputs"]["text"] for n in _of(graph, "CLIPTextEncode").values()]
    assert sum(SHEET_DIRECTIONS["left"] in t for t in texts) == 4
    assert all(t.startswith("a knight, ") for t in texts if "blurry" not in t)


def test_later_frames_of_a_direction_start_from_its_first_frame(
    library: TemplateLibrary,
) -> None:
    graph = library.get("sprite_sheet").render({**TINY, "directions": "up", "frames": 3})

    samplers = sorted(_of(graph, "KSampler").items(), key=lambda kv: kv[1]["inputs"]["seed"])
    (first, _), (_, second), (_, third) = samplers
    assert second["inputs"]["latent_image"] == [first, 0]
    assert third["inputs"]["latent_image"] == [first, 0]
    assert {second["inputs"]["denoise"], third["inputs"]["denoise"]} == {0.45}


def test_one_frame_needs_no_batch(library: TemplateLibrary) -> None:
    graph = library.get("sprite_sheet").render({**TINY, "directions": "down", "frames": 1})

    assert not _of(graph, "ImageBatch")
    (sheet,) = _of(graph, "DGXP_AssembleAnimationSheet").values()
    assert graph[sheet["inputs"]["frames"][0]]["class_type"] == "VAEDecode"


def test_a_seed_family_past_the_last_seed_wraps_round(library: TemplateLibrary) -> None:
    graph = library.get("sprite_sheet").render(
        {**TINY, "seed": 2**64 - 1, "directions": "down", "frames": 2}
    )

    assert sorted(s["inputs"]["seed"] for s in _of(graph, "KSampler").values()) == [0, 2**64 - 1]


@pytest.mark.parametrize(
    ("directions", "named"),
    [("down,sideways", "sideways unknown"), ("down,down", "down given twice"), (" , ", "1..8")],
)
def test_bad_directions_are_refused_naming_the_parameter(
    library: TemplateLibrary, directions: str, named: str
) -> None:
    with pytest.raises(TemplateParameterError, match="directions") as caught:
        library.get("sprite_sheet").render({**TINY, "directions": directions})
    assert named in str(caught.value)


def test_frame_count_is_directions_times_frames() -> None:
    assert frame_count({"directions": "down,left,right,up", "frames": 4}) == 16
    assert frame_count({"directions": "up", "frames": 1}) == 1


def test_the_expanded_sheet_fits_the_engine_object_info(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    template = library.get("sprite_sheet")
    values = {**TINY, "loras": [{"name": "tiny_lora.safetensors", "strength": 0.5}]}

    validate_against_object_info(template.render(values), engine_client.object_info())


def test_a_two_by_two_sheet_runs_as_one_prompt(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    template = library.get("sprite_sheet")
    graph = template.render({**TINY, "directions": "down,up", "frames": 2})

    result = run_prompt(engine_client, graph, timeout=240)

    role_of = {node: role for role, node in template.outputs.items() if role != "bevy_atlas"}
    images: dict[str, list[Image.Image]] = {}
    for output in fetch_outputs(engine_client, result):
        with Image.open(io.BytesIO(output.data)) as png:
            png.load()
            images.setdefault(role_of.get(output.node_id, output.node_id), []).append(png)
    (sheet,) = images["sprite"]
    assert len(images["frames"]) == 4
    frame = images["frames"][0]
    assert sheet.size == (2 * frame.width, 2 * frame.height)
    ui = result.outputs[template.outputs["atlas"]]
    (atlas,) = (json.loads(t) for t in ui["atlas"])
    (bevy,) = (json.loads(t) for t in ui["bevy_atlas"])
    (report,) = (json.loads(t) for t in ui["report"])
    assert [t["name"] for t in atlas["meta"]["frameTags"]] == ["walk_down", "walk_up"]
    assert (bevy["columns"], bevy["rows"], bevy["tile_size"]) == (2, 2, [frame.width, frame.height])
    assert report["sheet"]["frame_count"] == 4 and report["sheet"]["frame_sizes_identical"]
