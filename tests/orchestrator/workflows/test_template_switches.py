"""A bool parameter that `enables` output roles: false leaves their nodes out of the graph
(nothing encoded or written for them), and a sidecar that misuses it is refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from orchestrator.workflows.errors import TemplateDefinitionError

_SWITCH = {"name": "save_raw", "type": "bool", "default": False, "binds": [], "enables": ["raw"]}


def _with_raw(graph: dict[str, Any], side: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    graph = copy.deepcopy(graph)
    graph["11"] = {
        "class_type": "SaveImage",
        "inputs": {"images": ["8", 0], "filename_prefix": "raw"},
    }
    side = copy.deepcopy(side)
    side["outputs"]["raw"] = "11"
    side["parameters"].append(dict(_SWITCH))
    return graph, side


def test_a_false_switch_leaves_its_output_node_out_and_true_keeps_it(
    make_library: Any, sdxl_graph: dict[str, Any], mini_sidecar: dict[str, Any]
) -> None:
    template = make_library(*_with_raw(sdxl_graph, mini_sidecar)).get("mini")

    off = template.prepare({"prompt": "potion"})
    on = template.prepare({"prompt": "potion", "save_raw": True})

    assert "11" not in off.graph and off.values["save_raw"] is False
    assert on.graph["11"]["inputs"]["images"] == ["8", 0] and on.values["save_raw"] is True
    assert set(on.graph) - set(off.graph) == {"11"}


def test_a_switch_that_is_not_a_bool_is_refused_naming_it(
    make_library: Any, sdxl_graph: dict[str, Any], mini_sidecar: dict[str, Any]
) -> None:
    graph, side = _with_raw(sdxl_graph, mini_sidecar)
    side["parameters"][-1] = {**_SWITCH, "type": "int", "default": 0}

    with pytest.raises(TemplateDefinitionError, match=r"'save_raw'.*only a bool parameter"):
        make_library(graph, side).get("mini")


def test_a_switch_of_an_unknown_role_lists_the_roles(
    make_library: Any, sdxl_graph: dict[str, Any], mini_sidecar: dict[str, Any]
) -> None:
    graph, side = _with_raw(sdxl_graph, mini_sidecar)
    side["parameters"][-1] = {**_SWITCH, "enables": ["rwa"]}

    with pytest.raises(TemplateDefinitionError, match=r"'rwa'.*\['raw', 'sprite'\]"):
        make_library(graph, side).get("mini")


def test_a_switch_may_not_drop_a_node_another_node_reads(
    make_library: Any, sdxl_graph: dict[str, Any], mini_sidecar: dict[str, Any]
) -> None:
    graph, side = _with_raw(sdxl_graph, mini_sidecar)
    side["outputs"]["quantized"] = "9"  # node 10 (the sprite's SaveImage) reads it
    side["parameters"][-1] = {**_SWITCH, "enables": ["quantized"]}

    with pytest.raises(TemplateDefinitionError, match=r"node 9\) off, but nodes \['10'\]"):
        make_library(graph, side).get("mini")
