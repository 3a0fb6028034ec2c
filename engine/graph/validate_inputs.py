"""Per-node input validation, ComfyUI's `execution.validate_inputs` rule for rule.

Walks upstream from a node through its links: each input is checked for presence, link
shape and return type, value conversion, min/max and combo membership, then the node's own
`VALIDATE_INPUTS` runs. An input named by `VALIDATE_INPUTS` skips the built-in value checks;
a parameter called `input_types` skips the link type checks. Links to nodes or slots that do
not exist and dependency cycles are reported too (ComfyUI crashes on those).

The engine's caps (`engine.limits`) are checked here as well: a text value (STRING or
combo) longer than `max_prompt_chars` is `value_too_long`, and a node whose
`PIXEL_INPUTS` (e.g. width, height, batch_size) multiply to more than `max_pixels` is
`pixels_over_limit`.
"""

from __future__ import annotations

import inspect
import math
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.graph.interface import full_type_name, input_info, input_types, return_types
from engine.graph.node_call import CallContext, get_input_data, map_node_over_list
from engine.graph.registry import NodeRegistry
from engine.limits import DEFAULT_LIMITS, EngineLimits

__all__ = ["NodeResult", "NodeValidator", "validate_node_input"]

# (valid, errors, node_id) exactly as ComfyUI keeps it in `validated`.
NodeResult = tuple[bool, list[dict[str, Any]], str]
_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "INT": int,
    "FLOAT": float,
    "STRING": str,
    "BOOLEAN": bool,
}


def validate_node_input(received_type: Any, input_type: Any) -> bool:
    """Whether an output of `received_type` may feed an input of `input_type`.

    Equal types match; comma-separated type lists match when they overlap; `*` matches all.
    """
    if received_type == input_type:
        return True
    if not isinstance(received_type, str) or not isinstance(input_type, str):
        return False
    received = {part.strip() for part in received_type.split(",")}
    accepted = {part.strip() for part in input_type.split(",")}
    return "*" in received or "*" in accepted or bool(received & accepted)


def _error(kind: str, message: str, details: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": extra}


def _exception_info(ex: BaseException) -> dict[str, Any]:
    _, _, tb = sys.exc_info()
    return {
        "exception_message": str(ex),
        "exception_type": full_type_name(type(ex)),
        "traceback": traceback.format_tb(tb),
    }


def _combo_options(input_type: Any, options: dict[str, Any]) -> list[Any] | None:
    if isinstance(input_type, list | tuple):
        return list(input_type)
    if input_type == "COMBO":
        return list(options.get("options", []))
    return None


@dataclass
class _Check:
    """One input being checked: its name, declaration and the node's validator arguments."""

    name: str
    input_type: Any
    options: dict[str, Any]
    custom_args: list[str]
    custom_kwargs: bool

    @property
    def config(self) -> list[Any]:
        """ComfyUI's `input_config`: `[type, options]`."""
        return [self.input_type, self.options]

    @property
    def builtin_value_checks(self) -> bool:
        """Whether min/max/combo checks apply (VALIDATE_INPUTS did not claim the input)."""
        return self.name not in self.custom_args and not self.custom_kwargs


def _range_error(check: _Check, value: Any) -> dict[str, Any] | None:
    opts = check.options
    extra = {"input_name": check.name, "input_config": check.config, "received_value": value}
    if "min" in opts and value < opts["min"]:
        message = f"Value {value} smaller than min of {opts['min']}"
        return _error("value_smaller_than_min", message, check.name, **extra)
    if "max" in opts and value > opts["max"]:
        message = f"Value {value} bigger than max of {opts['max']}"
        return _error("value_bigger_than_max", message, check.name, **extra)
    return None


def _combo_error(check: _Check, value: Any) -> dict[str, Any] | None:
    choices = _combo_options(check.input_type, check.options)
    if choices is None:
        return None
    multiselect = check.options.get("multiselect", False) and isinstance(value, list)
    invalid = (
        [v for v in value if v not in choices] if multiselect else [value] * (value not in choices)
    )
    if not invalid:
        return None
    config: list[Any] | None = check.config
    # ComfyUI never echoes long lists (scanned model folders) back to the client.
    if len(choices) > 20:
        list_info, config = f"(list of length {len(choices)})", None
    else:
        list_info = str(choices)
    return _error(
        "value_not_in_list",
        "Value not in list",
        f"{check.name}: '{value}' not in {list_info}",
        input_name=check.name,
        input_config=config,
        received_value=value,
    )


def _text_error(check: _Check, value: Any, limits: EngineLimits) -> dict[str, Any] | None:
    # Any text widget; a combo value only when it is not one of the choices (a huge one
    # would otherwise be echoed back and logged).
    if not isinstance(value, str):
        return None
    choices = _combo_options(check.input_type, check.options)
    if choices is not None and value in choices:
        return None
    if len(value) <= limits.max_prompt_chars:
        return None
    return _error(
        "value_too_long",
        "Text input is longer than the engine allows",
        f"{check.name}: {len(value):,} characters; the limit is {limits.max_prompt_chars:,} "
        "(max_prompt_chars, `engine serve --max-prompt-chars`)",
        input_name=check.name,
        input_config=check.config,
        received_length=len(value),
        max_prompt_chars=limits.max_prompt_chars,
    )


def _pixel_error(
    node_class: type, inputs: dict[str, Any], limits: EngineLimits
) -> dict[str, Any] | None:
    """`pixels_over_limit` when the node's `PIXEL_INPUTS` ask for too many pixels.

    Absent inputs (an optional batch size) count as 1; a size that comes through a link is
    only known at run time, where the node checks it itself.
    """
    names: tuple[str, ...] = tuple(getattr(node_class, "PIXEL_INPUTS", ()))
    values = [inputs.get(name, 1) for name in names]
    if not names or not all(type(v) is int for v in values):
        return None
    pixels = math.prod(max(0, v) for v in values)
    if pixels <= limits.max_pixels:
        return None
    sizes = " x ".join(f"{name} {value}" for name, value in zip(names, values, strict=True))
    return _error(
        "pixels_over_limit",
        "Image size is over the engine's pixel cap",
        f"{names[0]}: {sizes} = {pixels:,} pixels; the limit is {limits.max_pixels:,} "
        "(max_pixels, `engine serve --max-pixels`)",
        input_name=names[0],
        received_value=values[0],
        pixel_inputs=list(names),
        max_pixels=limits.max_pixels,
    )


@dataclass
class NodeValidator:
    """Validates nodes of one prompt, memoising results in `validated` like ComfyUI."""

    registry: NodeRegistry
    prompt: dict[str, Any]
    limits: EngineLimits = DEFAULT_LIMITS
    validated: dict[str, NodeResult] = field(default_factory=dict)
    _visiting: list[str] = field(default_factory=list)

    def validate(self, node_id: str) -> NodeResult:
        """Validate `node_id` and everything upstream of it (memoised)."""
        if node_id in self.validated:
            return self.validated[node_id]
        self._visiting.append(node_id)
        try:
            result = self._validate_node(node_id)
        finally:
            self._visiting.pop()
        self.validated[node_id] = result
        return result

    def _validate_node(self, node_id: str) -> NodeResult:
        node = self.prompt[node_id]
        inputs: dict[str, Any] = node["inputs"]
        node_class = self.registry.classes[node["class_type"]]
        declared = input_types(node_class)
        custom = getattr(node_class, "VALIDATE_INPUTS", None)
        spec = inspect.getfullargspec(custom) if custom is not None else None
        custom_args = list(spec.args) if spec else []
        custom_kwargs = bool(spec and spec.varkw is not None)
        errors: list[dict[str, Any]] = []
        received_types: dict[str, Any] = {}
        valid = True
        for name in [*declared["required"], *declared["optional"]]:
            info = input_info(declared, name)
            assert info is not None
            check = _Check(name, info[0], info[1], custom_args, custom_kwargs)
            if name not in inputs:
                if info[2] == "required":
                    errors.append(
                        _error(
                            "required_input_missing",
                            "Required input is missing",
                            name,
                            input_name=name,
                        )
                    )
                continue
            if isinstance(inputs[name], list):
                error, upstream_ok = self._check_link(check, inputs[name], received_types)
            else:
                error, upstream_ok = self._check_value(check, inputs), True
            valid = valid and upstream_ok
            if error is not None:
                errors.append(error)
        if not errors:
            errors += [e for e in [_pixel_error(node_class, inputs, self.limits)] if e]
        if custom is not None:
            errors += self._custom_validation(
                node_id,
                node_class,
                check_args=(custom_args, custom_kwargs),
                received_types=received_types,
            )
        if errors or not valid:
            return False, errors, node_id
        return True, [], node_id

    def _check_link(
        self, check: _Check, link: list[Any], received_types: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, bool]:
        """Check one linked input and validate the node it comes from."""
        extra = {"input_name": check.name, "input_config": check.config, "received_value": link}
        if len(link) != 2:
            message = "Bad linked input, must be a length-2 list of [node_id, slot_index]"
            return _error("bad_linked_input", message, check.name, **extra), True
        source = str(link[0])
        if source not in self.prompt:
            details = f"{check.name}: linked node '{source}' does not exist in the prompt"
            return _error("bad_linked_input", "Linked node does not exist", details, **extra), True
        if source in self._visiting:
            cycle = " -> ".join([*self._visiting[self._visiting.index(source) :], source])
            details = f"{check.name}: links back to node '{source}' ({cycle})"
            return _error("dependency_cycle", "Dependency cycle detected", details, **extra), True
        outputs = return_types(self.registry.classes[self.prompt[source]["class_type"]])
        slot = link[1]
        if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < len(outputs):
            details = (
                f"{check.name}: node '{source}' ({self.prompt[source]['class_type']}) has "
                f"{len(outputs)} outputs, slot {slot!r} does not exist"
            )
            return _error(
                "bad_linked_input", "Linked output slot does not exist", details, **extra
            ), True
        received = outputs[slot]
        received_types[check.name] = received
        if "input_types" not in check.custom_args and not validate_node_input(
            received, check.input_type
        ):
            details = (
                f"{check.name}, received_type({received}) mismatch input_type({check.input_type})"
            )
            error = _error(
                "return_type_mismatch",
                "Return type mismatch between linked nodes",
                details,
                input_name=check.name,
                input_config=check.config,
                received_type=received,
                linked_node=link,
            )
            return error, True
        return None, self._validate_upstream(check, source, link)

    def _validate_upstream(self, check: _Check, source: str, link: list[Any]) -> bool:
        try:
            return self.validate(source)[0]
        except Exception as ex:  # a node's own code failed; ComfyUI reports it, not crashes
            reasons = [
                _error(
                    "exception_during_inner_validation",
                    "Exception when validating inner node",
                    str(ex),
                    input_name=check.name,
                    input_config=check.config,
                    linked_node=link,
                    **_exception_info(ex),
                )
            ]
            self.validated[source] = (False, reasons, source)
            return False

    def _check_value(self, check: _Check, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """Convert a widget value in place, then range- and combo-check it."""
        value = inputs[check.name]
        # {"__value__": [...]} passes a literal list, since a bare list is a link.
        if isinstance(value, dict) and "__value__" in value:
            value = inputs[check.name] = value["__value__"]
        converter = _CONVERTERS.get(check.input_type) if isinstance(check.input_type, str) else None
        if converter is not None:
            try:
                value = inputs[check.name] = converter(value)
            except (TypeError, ValueError, OverflowError) as ex:
                return _error(
                    "invalid_input_type",
                    f"Failed to convert an input value to a {check.input_type} value",
                    f"{check.name}, {value}, {ex}",
                    input_name=check.name,
                    input_config=check.config,
                    received_value=value,
                    exception_message=str(ex),
                )
        text_error = _text_error(check, value, self.limits)
        if text_error is not None or not check.builtin_value_checks:
            return text_error
        try:
            return _range_error(check, value) or _combo_error(check, value)
        except TypeError as ex:  # e.g. a string compared against a numeric min
            return _error(
                "invalid_input_type",
                f"Input value {value!r} cannot be compared with the input's range",
                f"{check.name}, {value}, {ex}",
                input_name=check.name,
                input_config=check.config,
                received_value=value,
                exception_message=str(ex),
            )

    def _custom_validation(
        self,
        node_id: str,
        node_class: type,
        check_args: tuple[list[str], bool],
        received_types: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """Run VALIDATE_INPUTS over the inputs it names; one error per input per failure."""
        names, takes_kwargs = check_args
        ctx = CallContext(prompt={}, extra_data={})
        data = get_input_data(self.prompt[node_id]["inputs"], node_class, node_id, None, ctx)
        selected = {k: v for k, v in data.items() if k in names or takes_kwargs}
        if "input_types" in names:
            selected["input_types"] = [received_types]
        results = map_node_over_list(node_class, selected, "VALIDATE_INPUTS")
        errors = []
        for name in selected:
            for result in results:
                if result is True:
                    continue
                details = name if result is False else f"{name} - {result}"
                errors.append(
                    _error(
                        "custom_validation_failed",
                        "Custom validation failed for node",
                        details,
                        input_name=name,
                    )
                )
        return errors
