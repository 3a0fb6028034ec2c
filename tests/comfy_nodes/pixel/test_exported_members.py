"""The pixel core's public surface is explicit: `__all__` lists exactly what each module defines."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "color",
    "palette",
    "palettes_builtin",
    "palette_files",
    "quantize",
    "dither",
    "outline",
    "orphans",
    "tiles",
    "sheets",
    "pivot",
    "bevy_atlas",
    "sheet_consistency",
    "frame_grids",
    "animation_sheet",
    "animation_preview",
    "upscale",
    "compare",
    "image_io",
    "atomic",
    "modes",
    "tensors",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_every_public_definition_and_nothing_else(name: str) -> None:
    module = importlib.import_module(f"comfy_nodes.pixel.{name}")
    exported = set(module.__all__)
    assert all(hasattr(module, member) for member in exported), exported
    defined = {
        member
        for member, value in vars(module).items()
        if not member.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    }
    assert defined <= exported, defined - exported
