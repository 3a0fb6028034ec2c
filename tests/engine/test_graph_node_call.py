"""How one node is called: list mapping, async functions, UI merging and bad return values."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import NodeExecutionError
from engine.graph.node_call import CallContext, get_input_data, get_output_data


class Add:
    RETURN_TYPES = ("INT",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {"a": ("INT",), "b": ("INT",)},
            "optional": {"c": ("INT",)},
            "hidden": {"uid": "UNIQUE_ID", "png": "EXTRA_PNGINFO", "prompt": "PROMPT"},
        }

    async def run(
        self, a: int, b: int, uid: str, prompt: dict[str, Any], c: int = 0, png: Any = None
    ) -> dict[str, Any]:
        return {"ui": {"sums": [a + b + c]}, "result": (a + b + c,)}


class Bare:
    RETURN_TYPES = ("INT",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {}}

    def run(self) -> int:
        return 5


def test_shorter_lists_repeat_their_last_item_and_ui_is_concatenated() -> None:
    data = get_input_data(
        {"a": ["1", 0], "b": 10}, Add, "7", {"1": [[1, 2, 3]]}, CallContext({}, {})
    )
    assert data == {"a": [1, 2, 3], "b": [10], "uid": ["7"], "prompt": [{}]}
    result = get_output_data(Add(), data)
    assert result.outputs == [[11, 12, 13]]
    assert result.ui == {"sums": [11, 12, 13]}


def test_extra_pnginfo_is_passed_only_when_the_request_had_it() -> None:
    ctx = CallContext({"1": {}}, {"extra_pnginfo": {"workflow": 1}})
    data = get_input_data({"a": 1, "b": 2, "c": 3}, Add, "1", {}, ctx)
    assert data["png"] == [{"workflow": 1}] and data["c"] == [3] and data["prompt"] == [{"1": {}}]


def test_a_bare_return_value_names_the_node_and_the_fix() -> None:
    with pytest.raises(
        NodeExecutionError, match=r"Bare.run returned int; a node function must return a tuple"
    ):
        get_output_data(Bare(), {})


def test_an_interrupt_wrapped_by_a_node_still_counts_as_an_interrupt() -> None:
    from engine.errors import InterruptedByUser
    from engine.graph.executor import _was_interrupted

    try:
        try:
            raise InterruptedByUser("stop")
        except InterruptedByUser as inner:
            raise RuntimeError("sampler failed") from inner
    except RuntimeError as outer:
        assert _was_interrupted(outer)
    assert not _was_interrupted(ValueError("plain"))
