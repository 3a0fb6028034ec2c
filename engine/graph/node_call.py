"""Calling one node the way ComfyUI does: list-wrapped inputs, INPUT_IS_LIST/OUTPUT_IS_LIST.

Every value flowing between nodes is a list (one entry per "list item"); a node without
`INPUT_IS_LIST` is called once per index, the shorter lists repeating their last item.
Results are merged back per output slot, concatenated where `OUTPUT_IS_LIST` says so.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import NodeExecutionError
from engine.graph.interface import input_types, is_link

__all__ = [
    "CallContext",
    "NodeOutput",
    "format_value",
    "get_input_data",
    "get_output_data",
    "map_node_over_list",
]

# Per output slot, the list of values (ComfyUI's internal output layout).
NodeOutputs = list[list[Any]]


@dataclass(frozen=True)
class CallContext:
    """What hidden inputs are filled from."""

    prompt: Mapping[str, Any]
    extra_data: Mapping[str, Any]


@dataclass(frozen=True)
class NodeOutput:
    """A node's merged result: slot values and the `ui` dict (empty when none)."""

    outputs: NodeOutputs
    ui: dict[str, list[Any]]


def _hidden_value(kind: Any, unique_id: str, ctx: CallContext | None) -> tuple[bool, Any]:
    if kind == "UNIQUE_ID":
        return True, unique_id
    if kind == "PROMPT":
        return True, dict(ctx.prompt) if ctx else {}
    if ctx is None:
        return False, None
    if kind == "EXTRA_PNGINFO" and "extra_pnginfo" in ctx.extra_data:
        return True, ctx.extra_data["extra_pnginfo"]
    if kind == "AUTH_TOKEN_COMFY_ORG" and "auth_token_comfy_org" in ctx.extra_data:
        return True, ctx.extra_data["auth_token_comfy_org"]
    if kind == "API_KEY_COMFY_ORG" and "api_key_comfy_org" in ctx.extra_data:
        return True, ctx.extra_data["api_key_comfy_org"]
    return False, None


def get_input_data(
    inputs: Mapping[str, Any],
    node_class: type,
    unique_id: str,
    outputs: Mapping[str, NodeOutputs] | None = None,
    ctx: CallContext | None = None,
) -> dict[str, list[Any]]:
    """List-wrapped keyword arguments for the node's function.

    Linked inputs take the upstream node's slot list (`[None]` when it is not available, as
    during validation); widget values are wrapped in a one-item list; optional inputs are
    present only when given; hidden inputs come from `ctx` and `unique_id`.
    """
    declared = input_types(node_class)
    data: dict[str, list[Any]] = {}
    for name, value in inputs.items():
        if is_link(value):
            source, slot = str(value[0]), int(value[1])
            if outputs is None or source not in outputs:
                data[name] = [None]
            else:
                data[name] = outputs[source][slot]
        elif name in declared["required"] or name in declared["optional"]:
            data[name] = [value]
    for name, kind in declared["hidden"].items():
        found, hidden = _hidden_value(kind, unique_id, ctx)
        if found:
            data[name] = [hidden]
    return data


def _resolve(result: Any) -> Any:
    # A node function may be `async def`; the worker thread has no loop of its own.
    if inspect.iscoroutine(result):
        return asyncio.run(result)
    return result


def map_node_over_list(
    target: Any,
    input_data: Mapping[str, list[Any]],
    func: str,
    before_call: Callable[[], None] | None = None,
) -> list[Any]:
    """Call `target.func` once (INPUT_IS_LIST or no inputs) or once per list index."""
    function = getattr(target, func)
    if getattr(target, "INPUT_IS_LIST", False):
        calls = [dict(input_data)]
    elif not input_data:
        calls = [{}]
    else:
        longest = max(len(values) for values in input_data.values())
        calls = [
            {key: values[min(index, len(values) - 1)] for key, values in input_data.items()}
            for index in range(longest)
        ]
    results = []
    for kwargs in calls:
        if before_call is not None:
            before_call()
        results.append(_resolve(function(**kwargs)))
    return results


def _merge_ui(uis: list[dict[str, Any]]) -> dict[str, list[Any]]:
    if not uis:
        return {}
    return {key: [item for ui in uis for item in ui.get(key, [])] for key in uis[0]}


def get_output_data(
    node: Any, input_data: Mapping[str, list[Any]], before_call: Callable[[], None] | None = None
) -> NodeOutput:
    """Run the node's FUNCTION over its inputs and merge the results per output slot.

    Raises:
        NodeExecutionError: the function returned something other than a tuple or dict.
    """
    returned = map_node_over_list(node, input_data, node.FUNCTION, before_call)
    results: list[tuple[Any, ...]] = []
    uis: list[dict[str, Any]] = []
    for item in returned:
        if isinstance(item, dict):
            if "ui" in item and item["ui"] is not None:
                uis.append(item["ui"])
            if "result" in item:
                results.append(tuple(item["result"]))
        elif item is None:
            results.append(())
        elif isinstance(item, tuple | list):
            results.append(tuple(item))
        else:
            raise NodeExecutionError(
                f"{type(node).__name__}.{node.FUNCTION} returned {type(item).__name__}; a node "
                "function must return a tuple of outputs or a {'ui': ..., 'result': ...} dict"
            )
    merged: NodeOutputs = []
    if results:
        slots = len(results[0])
        as_list = list(getattr(node, "OUTPUT_IS_LIST", [False] * slots))
        as_list += [False] * (slots - len(as_list))
        for index in range(slots):
            if as_list[index]:
                merged.append([value for result in results for value in result[index]])
            else:
                merged.append([result[index] for result in results])
    return NodeOutput(outputs=merged, ui=_merge_ui(uis))


def format_value(value: Any) -> Any:
    """JSON-safe rendering of an input value for `execution_error.current_inputs`."""
    if value is None or isinstance(value, int | float | bool | str):
        return value
    return str(value)
