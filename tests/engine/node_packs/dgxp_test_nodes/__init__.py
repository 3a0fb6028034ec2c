"""A real custom-node pack used by the engine tests (loaded through the custom-node loader).

Solid images, a slow node that reports progress and honours interrupts each step, a node
that always re-runs (NaN IS_CHANGED), one that fails, one with VALIDATE_INPUTS, list nodes
and a text output node.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from engine.context import node_runtime


class SolidImage:
    """An image of one colour: [batch, height, width, 3] (or 4 with alpha)."""

    CATEGORY = "DGX-Pixels/test"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "make"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "width": ("INT", {"default": 8, "min": 1, "max": 64}),
                "height": ("INT", {"default": 8, "min": 1, "max": 64}),
                "red": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0}),
            },
            "optional": {"alpha": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0})},
        }

    def make(
        self, width: int, height: int, red: float, alpha: float | None = None
    ) -> tuple[torch.Tensor]:
        channels = 3 if alpha is None else 4
        image = torch.zeros((1, height, width, channels))
        image[..., 0] = red
        if alpha is not None:
            image[..., 3] = alpha
        return (image,)


class SlowPass:
    """Passes the image through after `steps` steps of `delay` s, reporting progress."""

    CATEGORY = "DGX-Pixels/test"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "image": ("IMAGE",),
                "steps": ("INT", {"default": 3, "min": 1, "max": 10000}),
                "delay": ("FLOAT", {"default": 0.01, "min": 0.0, "max": 10.0}),
            },
            "optional": {"preview": ("BOOLEAN", {"default": False})},
        }

    def run(
        self, image: torch.Tensor, steps: int, delay: float, preview: bool = False
    ) -> tuple[torch.Tensor]:
        runtime = node_runtime()
        png = b"\x89PNG\r\n\x1a\nfake-preview"
        for step in range(steps):
            time.sleep(delay)
            if runtime is not None:
                runtime.check_interrupt()
                runtime.progress(step + 1, steps, png if preview else None)
        return (image,)


class AlwaysRerun:
    """Identity whose IS_CHANGED is NaN, so it never comes from the cache."""

    CATEGORY = "DGX-Pixels/test"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": ("IMAGE",)}}

    @classmethod
    def IS_CHANGED(cls, **kwargs: Any) -> float:
        return float("nan")

    def run(self, image: torch.Tensor) -> tuple[torch.Tensor]:
        return (image,)


class Fail:
    """Raises with a recognisable message."""

    CATEGORY = "DGX-Pixels/test"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": ("IMAGE",), "message": ("STRING", {"default": "boom"})}}

    def run(self, image: torch.Tensor, message: str) -> tuple[torch.Tensor]:
        raise ValueError(f"test failure: {message}")


class EvenOnly:
    """VALIDATE_INPUTS accepts only even numbers (and turns off the range check of `value`)."""

    CATEGORY = "DGX-Pixels/test"
    RETURN_TYPES = ("INT",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"value": ("INT", {"default": 2, "min": 0, "max": 10})}}

    @classmethod
    def VALIDATE_INPUTS(cls, value: int) -> bool | str:
        return True if value % 2 == 0 else f"value {value} is odd"

    def run(self, value: int) -> tuple[int]:
        return (value,)


class ShowText:
    """Output node that shows any value as text (and takes lists whole)."""

    CATEGORY = "DGX-Pixels/test"
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True
    INPUT_IS_LIST = True

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {"value": ("*",)},
            "hidden": {"unique_id": "UNIQUE_ID", "prompt": "PROMPT"},
        }

    def run(self, value: list[Any], unique_id: list[str], prompt: list[Any]) -> dict[str, Any]:
        return {"ui": {"text": [repr(v) for v in value], "node": unique_id}}


class CountTo:
    """OUTPUT_IS_LIST: emits 1..n as a list."""

    CATEGORY = "DGX-Pixels/test"
    RETURN_TYPES = ("INT",)
    OUTPUT_IS_LIST = (True,)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"n": ("INT", {"default": 3, "min": 1, "max": 100})}}

    def run(self, n: int) -> tuple[list[int]]:
        return (list(range(1, n + 1)),)


class Double:
    """Called once per list item by the engine (no INPUT_IS_LIST)."""

    CATEGORY = "DGX-Pixels/test"
    RETURN_TYPES = ("INT",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"value": ("INT", {"forceInput": True})}}

    def run(self, value: int) -> tuple[int]:
        return (value * 2,)


class TensorUi:
    """Output node whose `ui` holds a tensor and an arbitrary object (not JSON)."""

    CATEGORY = "DGX-Pixels/test"
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {}}

    def run(self) -> dict[str, Any]:
        return {"ui": {"tensor": [torch.tensor([1, 2])], "object": [object]}}


class NoUiOutput:
    """Output node that returns outputs but no `ui` (ComfyUI then sends `output: null`)."""

    CATEGORY = "DGX-Pixels/test"
    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": ("IMAGE",)}}

    def run(self, image: Any) -> tuple[int]:
        return (int(image.shape[0]),)


class ClashingSave:
    """Registered as `SaveImage`: a core name, so the engine must ignore it."""

    CATEGORY = "DGX-Pixels/test"
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {}}

    def run(self) -> dict[str, Any]:
        return {"ui": {"clash": [True]}}


NODE_CLASS_MAPPINGS = {
    "DGXPTest_SolidImage": SolidImage,
    "DGXPTest_SlowPass": SlowPass,
    "DGXPTest_AlwaysRerun": AlwaysRerun,
    "DGXPTest_Fail": Fail,
    "DGXPTest_EvenOnly": EvenOnly,
    "DGXPTest_ShowText": ShowText,
    "DGXPTest_CountTo": CountTo,
    "DGXPTest_Double": Double,
    "DGXPTest_TensorUi": TensorUi,
    "DGXPTest_NoUiOutput": NoUiOutput,
    "SaveImage": ClashingSave,
}
NODE_DISPLAY_NAME_MAPPINGS = {"DGXPTest_SolidImage": "Solid Image (test)"}
