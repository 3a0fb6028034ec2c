"""Every sidecar `choices` list is exactly the combo of the node input it binds, as the
engine's real `/object_info` serves it; a mode added to a registry fails this until the
sidecars follow."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from comfy_nodes.pixel.modes import DITHER_MODES
from orchestrator.comfy import ComfyClient
from orchestrator.workflows import Template, TemplateLibrary, default_templates_dir
from orchestrator.workflows.validate import combo_options, input_spec


@pytest.fixture(scope="module")
def library() -> TemplateLibrary:
    return TemplateLibrary(default_templates_dir())


@pytest.fixture(scope="module")
def engine_client(
    engine_models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComfyClient]:
    from engine.runner import EngineConfig, start_engine

    config = EngineConfig(
        base_dir=tmp_path_factory.mktemp("choices_engine"), models_dir=engine_models_dir, port=0
    )
    with start_engine(config) as running, ComfyClient(running.url, timeout=60) as client:
        yield client


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
