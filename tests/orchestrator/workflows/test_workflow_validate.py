"""Checking graphs against /object_info: every problem located by node, class and input."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from orchestrator.workflows import WorkflowValidationError, validate_against_object_info


def _problems(graph: dict[str, Any], object_info: dict[str, Any]) -> list[str]:
    with pytest.raises(WorkflowValidationError) as err:
        validate_against_object_info(graph, object_info)
    return [str(p) for p in err.value.problems]


def test_valid_graph_passes(sdxl_graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    validate_against_object_info(sdxl_graph, object_info)


def test_unknown_node_class_is_named_with_a_suggestion(
    sdxl_graph: dict[str, Any], object_info: dict[str, Any]
) -> None:
    sdxl_graph["8"]["class_type"] = "VAEDecod"
    problems = _problems(sdxl_graph, object_info)
    assert problems == [
        "node 8 (VAEDecod): the backend has no node class 'VAEDecod' "
        "(is the node pack installed?); did you mean VAEDecode?"
    ]


def test_missing_required_input(sdxl_graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    del sdxl_graph["3"]["inputs"]["cfg"]
    assert _problems(sdxl_graph, object_info) == [
        "node 3 (KSampler) input 'cfg': required input is missing"
    ]


@pytest.mark.parametrize(
    ("node", "name", "value", "expected"),
    [
        ("5", "width", 8, "value 8 is smaller than the minimum 16"),
        ("3", "steps", 10001, "value 10001 is bigger than the maximum 10000"),
        ("3", "steps", "abc", "expects INT, got 'abc'"),
        ("3", "steps", 2.5, "expects a whole number"),
        ("3", "cfg", True, "expects FLOAT, got True"),
        ("6", "text", 5, "expects a string"),
        ("8", "vae", "my.vae", "expects a link from a node producing VAE"),
    ],
)
def test_bad_widget_values(
    sdxl_graph: dict[str, Any],
    object_info: dict[str, Any],
    node: str,
    name: str,
    value: object,
    expected: str,
) -> None:
    sdxl_graph[node]["inputs"][name] = value
    (problem,) = _problems(sdxl_graph, object_info)
    assert problem.startswith(f"node {node} (")
    assert f"input {name!r}" in problem
    assert expected in problem


def test_v1_combo_value_not_in_list(
    sdxl_graph: dict[str, Any], object_info: dict[str, Any]
) -> None:
    sdxl_graph["4"]["inputs"]["ckpt_name"] = "tiny.safetensor"
    (problem,) = _problems(sdxl_graph, object_info)
    assert problem == (
        "node 4 (CheckpointLoaderSimple) input 'ckpt_name': value 'tiny.safetensor' is not in "
        "the list ['tiny.safetensors', 'other.safetensors']; did you mean tiny.safetensors?"
    )


def test_v3_combo_value_not_in_list(
    sdxl_graph: dict[str, Any], object_info: dict[str, Any]
) -> None:
    sdxl_graph["9"]["inputs"]["dither"] = "bayer-99"
    (problem,) = _problems(sdxl_graph, object_info)
    assert "node 9 (ImageQuantize) input 'dither'" in problem
    assert "not in the list ['none', 'floyd-steinberg']" in problem


def test_v3_combo_valid_value_passes(
    sdxl_graph: dict[str, Any], object_info: dict[str, Any]
) -> None:
    sdxl_graph["9"]["inputs"]["dither"] = "floyd-steinberg"
    validate_against_object_info(sdxl_graph, object_info)


def test_long_combo_is_summarised(sdxl_graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    object_info = copy.deepcopy(object_info)
    names = [f"m{i}.safetensors" for i in range(30)]
    object_info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"] = [names, {}]
    (problem,) = _problems(sdxl_graph, object_info)
    assert "(list of length 30)" in problem


def test_link_to_missing_node(sdxl_graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    sdxl_graph["3"]["inputs"]["latent_image"] = ["99", 0]
    assert _problems(sdxl_graph, object_info) == [
        "node 3 (KSampler) input 'latent_image': links to node 99, which is not in the graph"
    ]


def test_link_to_missing_slot(sdxl_graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    sdxl_graph["8"]["inputs"]["vae"] = ["4", 3]
    assert _problems(sdxl_graph, object_info) == [
        "node 8 (VAEDecode) input 'vae': links to output slot 3 of node 4, which has 3 output(s)"
    ]


def test_link_of_the_wrong_type(sdxl_graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    sdxl_graph["3"]["inputs"]["positive"] = ["5", 0]
    assert _problems(sdxl_graph, object_info) == [
        "node 3 (KSampler) input 'positive': expects CONDITIONING but node 5 slot 0 gives LATENT"
    ]


def test_every_problem_is_reported_at_once(
    sdxl_graph: dict[str, Any], object_info: dict[str, Any]
) -> None:
    sdxl_graph["5"]["inputs"]["width"] = 1
    sdxl_graph["3"]["inputs"]["sampler_name"] = "nope"
    del sdxl_graph["6"]["inputs"]["clip"]
    problems = _problems(sdxl_graph, object_info)
    assert len(problems) == 3
    with pytest.raises(WorkflowValidationError, match=r"3 problem\(s\)"):
        validate_against_object_info(sdxl_graph, object_info)


def test_graph_without_output_node(sdxl_graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    del sdxl_graph["10"]
    assert _problems(sdxl_graph, object_info) == [
        "node - (-): the graph has no output node (e.g. SaveImage)"
    ]


def test_node_without_class_type(sdxl_graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    sdxl_graph["5"] = {"inputs": {}}
    assert "node 5 (?): has no class_type" in _problems(sdxl_graph, object_info)


def test_empty_graph(object_info: dict[str, Any]) -> None:
    assert _problems({}, object_info) == ["node - (-): the graph is empty"]


def test_literal_list_values_are_not_links(
    sdxl_graph: dict[str, Any], object_info: dict[str, Any]
) -> None:
    sdxl_graph["6"]["inputs"]["text"] = {"__value__": ["a", "b"]}
    validate_against_object_info(sdxl_graph, object_info)
