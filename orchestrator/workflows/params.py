"""Checking parameter values against their `ParamSpec`: one checker per parameter type.

Each checker returns the value in its canonical form (ints as `int`, sizes as `"WxH"` or
`"auto"`, LoRAs as a tuple of `LoraChoice`) or raises `TemplateParameterError` naming the
parameter, the value and what is allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.workflows.errors import TemplateParameterError
from orchestrator.workflows.sidecar import ParamSpec, ParamType

__all__ = ["LoraChoice", "check_value"]

_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")
_LORA_STRENGTH = (-100.0, 100.0)  # LoraLoader's own range


@dataclass(frozen=True)
class LoraChoice:
    """One LoRA of a `loras` parameter: file name as the backend lists it, and strength."""

    name: str
    strength: float = 1.0


def _check_range(spec: ParamSpec, value: float) -> None:
    if spec.min is not None and value < spec.min:
        raise TemplateParameterError(spec.name, value, f"must be >= {spec.min:g}")
    if spec.max is not None and value > spec.max:
        raise TemplateParameterError(spec.name, value, f"must be <= {spec.max:g}")


def _check_int(spec: ParamSpec, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TemplateParameterError(spec.name, value, "must be an integer")
    if isinstance(value, float) and not value.is_integer():
        raise TemplateParameterError(spec.name, value, "must be a whole number")
    number = int(value)
    _check_range(spec, number)
    if spec.multiple_of and number % spec.multiple_of:
        raise TemplateParameterError(spec.name, value, f"must be a multiple of {spec.multiple_of}")
    return number


def _check_float(spec: ParamSpec, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TemplateParameterError(spec.name, value, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise TemplateParameterError(spec.name, value, "must be a finite number")
    _check_range(spec, number)
    return number


def _check_str(spec: ParamSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise TemplateParameterError(spec.name, value, "must be a string")
    if spec.max is not None and len(value) > spec.max:
        raise TemplateParameterError(spec.name, value, f"must be at most {spec.max:g} characters")
    return value


def _check_bool(spec: ParamSpec, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TemplateParameterError(spec.name, value, "must be true or false")
    return value


def _check_enum(spec: ParamSpec, value: Any) -> str:
    choices = spec.choices or ()
    if value not in choices:
        raise TemplateParameterError(spec.name, value, f"must be one of: {', '.join(choices)}")
    return str(value)


def _size_pair(spec: ParamSpec, value: Any) -> tuple[int, int]:
    if isinstance(value, list | tuple) and len(value) == 2:
        width, height = value
        if all(isinstance(v, int) and not isinstance(v, bool) for v in (width, height)):
            return int(width), int(height)
    if isinstance(value, str) and (match := _SIZE.match(value)):
        return int(match.group(1)), int(match.group(2))
    raise TemplateParameterError(spec.name, value, "must be 'auto' or 'WxH' like '32x32'")


def _check_size(spec: ParamSpec, value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    width, height = _size_pair(spec, value)
    for side in (width, height):
        if (spec.min is not None and side < spec.min) or (spec.max is not None and side > spec.max):
            raise TemplateParameterError(
                spec.name, value, f"each side must be within {spec.min:g}..{spec.max:g}"
            )
    return f"{width}x{height}"


def _one_lora(spec: ParamSpec, item: Any) -> LoraChoice:
    name: Any
    strength: Any
    if isinstance(item, LoraChoice):
        name, strength = item.name, item.strength
    elif isinstance(item, str):
        name, _, raw = item.partition(":")
        try:
            strength = float(raw) if raw else 1.0
        except ValueError as exc:
            raise TemplateParameterError(
                spec.name, item, "strength after ':' must be a number"
            ) from exc
    elif isinstance(item, Mapping):
        name, strength = item.get("name"), item.get("strength", 1.0)
    elif hasattr(item, "name") and hasattr(item, "strength"):  # e.g. the service's LoraSpec
        name, strength = item.name, item.strength
    else:
        raise TemplateParameterError(spec.name, item, "each LoRA must be {name, strength}")
    if not isinstance(name, str) or not name.strip():
        raise TemplateParameterError(spec.name, item, "a LoRA needs a non-empty file name")
    if isinstance(strength, bool) or not isinstance(strength, int | float):
        raise TemplateParameterError(spec.name, item, "LoRA strength must be a number")
    low, high = _LORA_STRENGTH
    if not low <= float(strength) <= high:
        raise TemplateParameterError(
            spec.name, item, f"LoRA strength must be within {low:g}..{high:g}"
        )
    return LoraChoice(name=name.strip(), strength=float(strength))


def _check_loras(spec: ParamSpec, value: Any) -> tuple[LoraChoice, ...]:
    if isinstance(value, str | Mapping) or not isinstance(value, list | tuple):
        raise TemplateParameterError(spec.name, value, "must be a list of {name, strength}")
    if spec.max is not None and len(value) > spec.max:
        raise TemplateParameterError(spec.name, value, f"at most {spec.max:g} LoRAs")
    if spec.min is not None and len(value) < spec.min:
        raise TemplateParameterError(spec.name, value, f"at least {spec.min:g} LoRA(s) needed")
    return tuple(_one_lora(spec, item) for item in value)


_CHECKERS: dict[ParamType, Callable[[ParamSpec, Any], Any]] = {
    "int": _check_int,
    "float": _check_float,
    "str": _check_str,
    "bool": _check_bool,
    "enum": _check_enum,
    "size": _check_size,
    "loras": _check_loras,
}


def check_value(spec: ParamSpec, value: Any) -> Any:
    """`value` in canonical form for `spec`, or `TemplateParameterError`."""
    return _CHECKERS[spec.type](spec, value)
