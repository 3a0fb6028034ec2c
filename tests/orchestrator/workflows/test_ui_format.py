"""The UI-format (LiteGraph) twin: slots, links, widget order, layout."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.workflows import TemplateDefinitionError, api_to_ui


def _node(ui: dict[str, Any], node_id: int) -> dict[str, Any]:
    (node,) = [n for n in ui["nodes"] if n["id"] == node_id]
    return node


def test_top_level_shape(sdxl_graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    ui = api_to_ui(sdxl_graph, object_info)
    assert ui["version"] == 0.4
    assert ui["last_node_id"] == 10
    assert ui["last_link_id"] == len(ui["links"]) == 10
    assert [n["id"] for n in ui["nodes"]] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert ui["groups"] == [] and ui["config"] == {}


def test_links_are_full_rows_and_match_both_ends(
    sdxl_graph: dict[str, Any], object_info: dict[str, Any]
) -> None:
    ui = api_to_ui(sdxl_graph, object_info)
    for link_id, src, src_slot, dst, dst_slot, kind in ui["links"]:
        source, target = _node(ui, src), _node(ui, dst)
        assert link_id in source["outputs"][src_slot]["links"]
        assert target["inputs"][dst_slot]["link"] == link_id
        assert source["outputs"][src_slot]["type"] == kind == target["inputs"][dst_slot]["type"]
    # CLIP output of the loader feeds both text encoders.
    loader = _node(ui, 4)
    assert loader["outputs"][1]["name"] == "CLIP"
    assert len(loader["outputs"][1]["links"]) == 2
    assert loader["outputs"][1]["slot_index"] == 1


def test_widgets_follow_input_order_with_control_after_generate(
    sdxl_graph: dict[str, Any], object_info: dict[str, Any]
) -> None:
    ui = api_to_ui(sdxl_graph, object_info)
    sampler = _node(ui, 3)
    assert sampler["widgets_values"] == [7, "fixed", 2, 7.0, "euler", "normal", 1.0]
    assert [i["name"] for i in sampler["inputs"]] == [
        "model",
        "positive",
        "negative",
        "latent_image",
    ]
    assert _node(ui, 5)["widgets_values"] == [64, 64, 1]
    assert _node(ui, 9)["widgets_values"] == [16, "none"], "V3 combo is a widget"
    assert _node(ui, 10)["widgets_values"] == ["t"]
    assert _node(ui, 10)["outputs"] == []


def test_linked_widget_becomes_an_input_and_keeps_its_widget_slot(
    sdxl_graph: dict[str, Any], object_info: dict[str, Any]
) -> None:
    sdxl_graph["11"] = {"class_type": "EmptyLatentImage", "inputs": {"width": 8}}
    sdxl_graph["12"] = {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": ["11", 0], "clip": ["4", 1]},
    }
    ui = api_to_ui(sdxl_graph, object_info)
    encoder = _node(ui, 12)
    assert encoder["inputs"][0]["name"] == "text"
    assert encoder["inputs"][0]["widget"] == {"name": "text"}
    assert encoder["widgets_values"] == [None]
    assert _node(ui, 11)["widgets_values"] == [8, 512, 1], "missing widgets get defaults"


def test_layout_puts_each_node_right_of_its_inputs(
    sdxl_graph: dict[str, Any], object_info: dict[str, Any]
) -> None:
    ui = api_to_ui(sdxl_graph, object_info)
    for _, src, _, dst, _, _ in ui["links"]:
        assert _node(ui, src)["pos"][0] < _node(ui, dst)["pos"][0]
    orders = {n["id"]: n["order"] for n in ui["nodes"]}
    for _, src, _, dst, _, _ in ui["links"]:
        assert orders[src] < orders[dst]
    for node in ui["nodes"]:
        assert node["size"][0] > 0 and node["size"][1] > 0
        assert node["mode"] == 0
        assert node["properties"] == {"Node name for S&R": node["type"]}


def test_titles_are_carried_over(sdxl_graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    sdxl_graph["6"]["_meta"] = {"title": "Prompt"}
    assert _node(api_to_ui(sdxl_graph, object_info), 6)["title"] == "Prompt"


def test_non_numeric_ids_are_renumbered(object_info: dict[str, Any]) -> None:
    graph = {
        "loader": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "tiny.safetensors"},
        },
        "decode": {
            "class_type": "VAEDecode",
            "inputs": {"samples": ["x", 0], "vae": ["loader", 2]},
        },
        "x": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 64, "height": 64, "batch_size": 1},
        },
    }
    ui = api_to_ui(graph, object_info)
    assert sorted(n["id"] for n in ui["nodes"]) == [1, 2, 3]


def test_unknown_class_cannot_be_converted(
    sdxl_graph: dict[str, Any], object_info: dict[str, Any]
) -> None:
    sdxl_graph["8"]["class_type"] = "Nope"
    with pytest.raises(TemplateDefinitionError, match=r"node 8 \(Nope\) is not in object_info"):
        api_to_ui(sdxl_graph, object_info)


def test_cycle_is_refused(sdxl_graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    sdxl_graph["6"]["inputs"]["clip"] = ["3", 0]
    with pytest.raises(TemplateDefinitionError, match="cycle"):
        api_to_ui(sdxl_graph, object_info)
