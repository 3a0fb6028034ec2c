"""Every sidecar `choices` list is exactly the combo of the node input it binds, as the
engine's real `/object_info` serves it; a mode added to a registry fails this until the
sidecars follow."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import pytest

from comfy_nodes.pixel.modes import DITHER_MODES
from orchestrator.comfy import ComfyClient
from orchestrator.workflows import (
    Template,
    TemplateLibrary,
    WorkflowValidationError,
    validate_against_object_info,
)
from orchestrator.workflows.validate import combo_options, input_spec


def choice_mismatches(template: Template, object_info: Mapping[str, Any]) -> list[str]:
    """One line per enum binding whose `choices` differ from the bound input's combo."""
    problems = []
    for param in template.sidecar.parameters:
        if param.type != "enum":
            continue
        for binding in param.binds:
            class_type = template.graph[binding.node_id]["class_type"]
            spec = input_spec(object_info[class_type], binding.input)
            combo = combo_options(spec[1]) if spec else None
            if list(param.choices or ()) != combo:
                problems.append(
                    f"{template.name}.{param.name} choices {list(param.choices or ())} != "
                    f"{class_type}.{binding.input} combo {combo}"
                )
    return problems


def test_every_sidecar_choices_list_is_its_node_combo(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    object_info = engine_client.object_info(refresh=True)
    enums = [p for name in library.names() for p in library.get(name).params if p.type == "enum"]
    assert {p.name for p in enums} >= {"dither", "remove_background"}  # the check has subjects
    problems = [
        m for name in library.names() for m in choice_mismatches(library.get(name), object_info)
    ]
    assert problems == []


def test_a_new_registry_mode_reaches_object_info_and_fails_the_sidecar_check(
    library: TemplateLibrary, engine_client: ComfyClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine imports the pack by its folder path, as ComfyUI does: patch that copy too.
    from engine.node_loading import comfy_nodes_dir

    loaded = sys.modules[f"{str(comfy_nodes_dir()).replace('.', '_x_')}.pixel.modes"]
    grown = (*DITHER_MODES.names, "sparkle")
    for registry in (DITHER_MODES, loaded.DITHER_MODES):
        monkeypatch.setattr(registry, "names", grown)
    object_info = engine_client.object_info(refresh=True)
    pixelize = object_info["DGXP_PixelizeSprite"]["input"]["required"]["dither"]
    assert combo_options(pixelize) == list(grown)
    problems = choice_mismatches(library.get("single_sprite"), object_info)
    assert len(problems) == 1
    assert "single_sprite.dither" in problems[0]
    assert "sparkle" in problems[0]


# Combos that belong to whichever backend runs the job (a real ComfyUI has more samplers
# than the engine): templates keep no list of them, the backend's /object_info decides.
BACKEND_COMBOS = {("KSampler", "sampler_name"), ("KSampler", "scheduler")}


def test_sampler_and_scheduler_lists_come_from_the_backend_only(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    object_info = engine_client.object_info(refresh=True)
    seen = set()
    for name in library.names():
        template = library.get(name)
        for param in template.sidecar.parameters:
            for binding in param.binds:
                key = (template.graph[binding.node_id]["class_type"], binding.input)
                if key in BACKEND_COMBOS:
                    seen.add(key)
                    spec = input_spec(object_info[key[0]], key[1])
                    assert spec is not None
                    assert param.choices is None, f"{name}.{param.name} restates {key}"
                    assert param.default in (combo_options(spec[1]) or []), param.default
    assert seen == BACKEND_COMBOS


def test_a_sampler_the_backend_lacks_is_refused_with_the_backend_list(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    object_info = engine_client.object_info(refresh=True)
    values = {"prompt": "a red potion", "checkpoint": "tiny_sdxl.safetensors"}
    graph = library.get("single_sprite").render({**values, "sampler": "sparkle"})
    engine_samplers = combo_options(object_info["KSampler"]["input"]["required"]["sampler_name"])
    with pytest.raises(WorkflowValidationError) as info:
        validate_against_object_info(graph, object_info)
    assert f"'sparkle' is not in the list {engine_samplers}" in str(info.value)


# The nodes that pixelize a template's renders (an animation sheet pixelizes in its assembler).
_PIXELIZERS = ("DGXP_PixelizeSprite", "DGXP_AssembleAnimationSheet")


def test_every_offered_background_mode_renders_to_a_graph_the_engine_accepts(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    object_info = engine_client.object_info(refresh=True)
    lora = {"name": "tiny_lora.safetensors", "strength": 0.8}  # lora_compare needs one
    values = {"prompt": "a red potion", "checkpoint": "tiny_sdxl.safetensors", "loras": [lora]}
    for name in library.names():
        template = library.get(name)
        offered = [p for p in template.sidecar.parameters if p.name == "remove_background"]
        if name == "autotile":  # opaque terrain: its pixelizer keeps the background, fixed
            assert offered == []
            continue
        (background,) = offered
        for mode in background.choices or ():
            graph = template.render({**values, "remove_background": mode, "key_color": "#ff00ff"})
            validate_against_object_info(graph, object_info)
            pixelizers = [n for n in graph.values() if n["class_type"] in _PIXELIZERS]
            assert pixelizers
            assert all(n["inputs"]["key_color"] == "#ff00ff" for n in pixelizers), name
