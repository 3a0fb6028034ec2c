"""`validate_prompt` on tiny in-test node classes: the rules that need a node of their own."""

from __future__ import annotations

from typing import Any

from engine.graph import NodeRegistry, validate_prompt


class Source:
    RETURN_TYPES = ("THING",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"mode": ("COMBO", {"options": ["a", "b"], "multiselect": True})}}


class AnyTaker:
    """Takes its link as `input_types`-validated, so mismatched link types pass."""

    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {"value": ("IMAGE",)},
            "optional": {"flag": ("BOOLEAN", {"default": False})},
        }

    @classmethod
    def VALIDATE_INPUTS(cls, input_types: dict[str, Any]) -> bool:
        return input_types == {"value": "THING"}


class Exploding:
    RETURN_TYPES = ("THING",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"x": ("INT", {"default": 0})}}

    @classmethod
    def VALIDATE_INPUTS(cls, x: int) -> bool:
        raise RuntimeError("validator crashed")


class Sink:
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"value": ("THING,OTHER",), "items": ("INT", {"default": 0})}}


REGISTRY = NodeRegistry(
    classes={"Source": Source, "AnyTaker": AnyTaker, "Exploding": Exploding, "Sink": Sink}
)


def test_input_types_parameter_turns_off_link_type_checks() -> None:
    # A bare ["a", "b"] would be read as a link; literal lists are wrapped in __value__.
    prompt: dict[str, Any] = {
        "1": {"class_type": "Source", "inputs": {"mode": {"__value__": ["a", "b"]}}},
        "2": {"class_type": "AnyTaker", "inputs": {"value": ["1", 0]}},
    }
    result = validate_prompt(prompt, REGISTRY)
    assert result.ok, result.node_errors
    assert prompt["1"]["inputs"]["mode"] == ["a", "b"]


def test_multiselect_combo_reports_the_bad_value() -> None:
    prompt: dict[str, Any] = {
        "1": {"class_type": "Source", "inputs": {"mode": {"__value__": ["a", "z"]}}},
        "2": {"class_type": "Sink", "inputs": {"value": ["1", 0], "items": "7"}},
    }
    result = validate_prompt(prompt, REGISTRY)
    assert [e["type"] for e in result.node_errors["1"]["errors"]] == ["value_not_in_list"]
    assert prompt["2"]["inputs"]["items"] == 7  # converted in place, like ComfyUI


def test_comma_separated_types_match_when_they_overlap() -> None:
    prompt = {
        "1": {"class_type": "Source", "inputs": {"mode": {"__value__": ["a"]}}},
        "2": {"class_type": "Sink", "inputs": {"value": ["1", 0], "items": 1}},
    }
    assert validate_prompt(prompt, REGISTRY).ok


def test_validator_exceptions_are_reported_for_outputs_and_inner_nodes() -> None:
    inner = {
        "1": {"class_type": "Exploding", "inputs": {"x": 1}},
        "2": {"class_type": "Sink", "inputs": {"value": ["1", 0], "items": 1}},
    }
    errors = validate_prompt(inner, REGISTRY).node_errors
    error = errors["1"]["errors"][0]
    assert error["type"] == "exception_during_inner_validation"
    assert error["extra_info"]["exception_type"] == "RuntimeError"
    assert error["details"] == "validator crashed"


def test_optional_inputs_are_optional_and_unknown_inputs_ignored() -> None:
    prompt = {
        "1": {"class_type": "Source", "inputs": {"mode": {"__value__": ["b"]}}},
        "2": {"class_type": "AnyTaker", "inputs": {"value": ["1", 0], "not_declared": 5}},
    }
    assert validate_prompt(prompt, REGISTRY).ok


def test_partial_targets_that_name_no_output_give_prompt_no_outputs() -> None:
    prompt = {"1": {"class_type": "Sink", "inputs": {"value": ["1", 0], "items": 1}}}
    result = validate_prompt(prompt, REGISTRY, partial_execution_targets=["9"])
    assert result.error is not None and result.error["type"] == "prompt_no_outputs"
