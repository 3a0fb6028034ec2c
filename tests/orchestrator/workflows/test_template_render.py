"""Rendering a template: defaults, checks with clear errors, seeds, LoRA chains."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.workflows import (
    LoraChoice,
    TemplateLibrary,
    TemplateParameterError,
    validate_against_object_info,
)


def test_defaults_fill_every_bound_input(library: TemplateLibrary) -> None:
    graph = library.get("mini").render({"prompt": "a red potion", "seed": 5})
    assert graph["6"]["inputs"]["text"] == "a red potion, pixel art"
    assert graph["3"]["inputs"]["seed"] == 5
    assert graph["3"]["inputs"]["steps"] == 2
    assert graph["3"]["inputs"]["cfg"] == 7.0
    assert graph["5"]["inputs"]["width"] == 64
    assert graph["9"]["inputs"]["dither"] == "none"


def test_render_does_not_touch_the_template(library: TemplateLibrary) -> None:
    template = library.get("mini")
    template.render({"prompt": "x", "steps": 9})
    assert template.graph["3"]["inputs"]["steps"] == 2
    assert template.graph["6"]["inputs"]["text"] == "potion"


def test_rendered_graph_passes_object_info_validation(
    library: TemplateLibrary, object_info: dict[str, Any]
) -> None:
    graph = library.get("mini").render(
        {"prompt": "x", "loras": [{"name": "style.safetensors", "strength": 0.7}]}
    )
    validate_against_object_info(graph, object_info)


def test_unknown_parameter_is_named_and_valid_ones_listed(library: TemplateLibrary) -> None:
    with pytest.raises(TemplateParameterError) as err:
        library.get("mini").render({"prompt": "x", "stepz": 3, "colour": 1})
    message = str(err.value)
    assert "colour, stepz" in message
    assert "valid:" in message and "steps" in message and "prompt" in message


def test_missing_required_parameter_is_named(library: TemplateLibrary) -> None:
    with pytest.raises(TemplateParameterError, match=r"prompt=None: is required"):
        library.get("mini").render({})


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("steps", "20", "must be an integer"),
        ("steps", True, "must be an integer"),
        ("steps", 2.5, "must be a whole number"),
        ("cfg", "high", "must be a number"),
        ("cfg", float("nan"), "must be a finite number"),
        ("prompt", 42, "must be a string"),
        ("tiled", "yes", "must be true or false"),
        ("dither", "bayer-99", "must be one of: none, floyd-steinberg"),
        ("sprite_size", "big", "must be 'auto' or 'WxH'"),
        ("loras", "style.safetensors", "must be a list"),
        ("loras", [{"strength": 1.0}], "non-empty file name"),
        ("loras", [{"name": "a", "strength": "max"}], "strength must be a number"),
        ("loras", ["a:lots"], "strength after ':' must be a number"),
    ],
)
def test_wrong_type_names_parameter_and_value(
    library: TemplateLibrary, name: str, value: object, reason: str
) -> None:
    values = {"prompt": "x", name: value}
    with pytest.raises(TemplateParameterError) as err:
        library.get("mini").render(values)
    assert err.value.parameter == name
    assert str(err.value).startswith(f"{name}=")
    assert reason in str(err.value)


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("steps", 0, "must be >= 1"),
        ("steps", 151, "must be <= 150"),
        ("cfg", -0.5, "must be >= 0"),
        ("width", 2056, "must be <= 2048"),
        ("width", 100, "multiple of 8"),
        ("seed", -1, "must be >= 0"),
        ("sprite_size", "2x32", "each side must be within 4..512"),
        ("loras", [{"name": "a", "strength": 101}], "within -100..100"),
        ("loras", ["a", "b", "c", "d", "e"], "at most 4 LoRAs"),
    ],
)
def test_out_of_range_value_is_rejected(
    library: TemplateLibrary, name: str, value: object, reason: str
) -> None:
    with pytest.raises(TemplateParameterError, match=reason):
        library.get("mini").render({"prompt": "x", name: value})


def test_size_accepts_auto_text_and_pairs(library: TemplateLibrary) -> None:
    template = library.get("mini")
    assert template.prepare({"prompt": "x", "sprite_size": "AUTO"}).values["sprite_size"] == "auto"
    assert (
        template.prepare({"prompt": "x", "sprite_size": " 32 x 48"}).values["sprite_size"]
        == "32x48"
    )
    assert (
        template.prepare({"prompt": "x", "sprite_size": (16, 16)}).values["sprite_size"] == "16x16"
    )


def test_seed_none_is_drawn_and_recorded(library: TemplateLibrary) -> None:
    template = library.get("mini")
    drawn = {template.prepare({"prompt": "x", "seed": None}).seed for _ in range(5)}
    assert len(drawn) > 1, "five drawn seeds were all equal"
    rendered = template.prepare({"prompt": "x"})
    assert isinstance(rendered.seed, int)
    assert rendered.graph["3"]["inputs"]["seed"] == rendered.seed == rendered.values["seed"]


def test_given_seed_is_used_verbatim(library: TemplateLibrary) -> None:
    rendered = library.get("mini").prepare({"prompt": "x", "seed": 2**63})
    assert rendered.graph["3"]["inputs"]["seed"] == 2**63


def test_no_loras_leaves_the_graph_without_lora_nodes(library: TemplateLibrary) -> None:
    rendered = library.get("mini").prepare({"prompt": "x", "loras": []})
    assert rendered.lora_nodes == ()
    assert rendered.graph["3"]["inputs"]["model"] == ["4", 0]
    assert all(n["class_type"] != "LoraLoader" for n in rendered.graph.values())


def test_loras_chain_between_loader_and_consumers(library: TemplateLibrary) -> None:
    rendered = library.get("mini").prepare(
        {
            "prompt": "x",
            "loras": [
                {"name": "style.safetensors", "strength": 0.8},
                "hero.safetensors:0.5",
                LoraChoice("third.safetensors"),
            ],
        }
    )
    graph = rendered.graph
    first, second, third = rendered.lora_nodes
    assert first == "11", "new nodes take ids after the largest existing one"
    assert graph[first]["inputs"]["model"] == ["4", 0]
    assert graph[first]["inputs"]["clip"] == ["4", 1]
    assert graph[first]["inputs"]["strength_model"] == 0.8
    assert graph[second]["inputs"]["model"] == [first, 0]
    assert graph[second]["inputs"]["clip"] == [first, 1]
    assert graph[second]["inputs"]["lora_name"] == "hero.safetensors"
    assert graph[second]["inputs"]["strength_clip"] == 0.5
    assert graph[third]["inputs"]["strength_model"] == 1.0
    assert graph["3"]["inputs"]["model"] == [third, 0]
    assert graph["6"]["inputs"]["clip"] == [third, 1]
    assert graph["7"]["inputs"]["clip"] == [third, 1]
    assert graph["8"]["inputs"]["vae"] == ["4", 2], "the VAE does not go through LoRAs"
    assert rendered.values["loras"] == [
        {"name": "style.safetensors", "strength": 0.8},
        {"name": "hero.safetensors", "strength": 0.5},
        {"name": "third.safetensors", "strength": 1.0},
    ]


def test_loras_rebind_only_the_bound_branch(
    make_library: Any, sdxl_graph: dict[str, Any], mini_sidecar: dict[str, Any]
) -> None:
    # A second sampler on the bare model, like lora_compare's base branch.
    sdxl_graph["20"] = {**sdxl_graph["3"], "inputs": dict(sdxl_graph["3"]["inputs"])}
    library = make_library(sdxl_graph, mini_sidecar)
    graph = library.get("mini").render({"prompt": "x", "loras": ["style.safetensors"]})
    assert graph["3"]["inputs"]["model"] == ["21", 0]
    assert graph["20"]["inputs"]["model"] == ["4", 0]
