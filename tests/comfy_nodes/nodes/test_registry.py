"""Every registered node follows ComfyUI's classic dict API and the house rules, and the
pack loads from a `custom_nodes/` folder under any name, the way ComfyUI imports it."""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import comfy_nodes
from comfy_nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

PACK_DIR = Path(comfy_nodes.__file__).parent
NODE_IDS = sorted(NODE_CLASS_MAPPINGS)
SCALAR_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}


def _inputs(node_id: str) -> dict[str, dict[str, Any]]:
    spec = NODE_CLASS_MAPPINGS[node_id].INPUT_TYPES()
    assert set(spec) <= {"required", "optional", "hidden"}, spec.keys()
    return {section: spec.get(section, {}) for section in ("required", "optional")}


def test_the_pack_registers_the_nodes_the_workflows_need() -> None:
    expected = {
        "DGXP_PixelizeSprite",
        "DGXP_DetectGrid",
        "DGXP_DownscaleToGrid",
        "DGXP_RemoveBackground",
        "DGXP_SpriteReport",
        "DGXP_LoadPalette",
        "DGXP_QuantizeColors",
        "DGXP_DitherImage",
        "DGXP_AddOutline",
        "DGXP_MakeSeamless",
        "DGXP_TilePreview",
        "DGXP_PackSpriteSheet",
        "DGXP_AssembleAnimationSheet",
        "DGXP_SliceSpriteSheet",
        "DGXP_UpscalePreview",
        "DGXP_RemoveOrphans",
        "DGXP_SideBySide",
        "DGXP_TileReport",
        "DGXP_WangComposite",
        "DGXP_LockWangEdges",
        "DGXP_PackAutotile",
        "DGXP_AutotileReport",
    }
    assert expected == set(NODE_CLASS_MAPPINGS)
    assert set(NODE_DISPLAY_NAME_MAPPINGS) == set(NODE_CLASS_MAPPINGS)


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_node_class_attributes_follow_the_classic_api(node_id: str) -> None:
    cls = NODE_CLASS_MAPPINGS[node_id]
    assert re.fullmatch(r"DGXP_[A-Z][A-Za-z0-9]+", node_id)
    assert cls.CATEGORY.startswith("DGX-Pixels/")
    assert callable(getattr(cls, cls.FUNCTION))
    assert isinstance(cls.RETURN_TYPES, tuple) and cls.RETURN_TYPES
    assert all(isinstance(kind, str) and kind for kind in cls.RETURN_TYPES)
    if hasattr(cls, "RETURN_NAMES"):
        assert len(cls.RETURN_NAMES) == len(cls.RETURN_TYPES)
    assert NODE_DISPLAY_NAME_MAPPINGS[node_id].strip()


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_every_input_has_a_tooltip_and_a_sane_widget(node_id: str) -> None:
    for section, inputs in _inputs(node_id).items():
        assert isinstance(inputs, dict), section
        for name, spec in inputs.items():
            kind, options = spec[0], spec[1] if len(spec) > 1 else {}
            assert isinstance(options.get("tooltip"), str) and options["tooltip"].strip(), name
            if isinstance(kind, list):  # a combo
                assert kind and all(isinstance(choice, str) for choice in kind), name
                assert options.get("default", kind[0]) in kind, name
            elif kind in {"INT", "FLOAT"}:
                assert options["min"] <= options["default"] <= options["max"], name
            else:
                assert isinstance(kind, str) and kind, name


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_node_function_accepts_exactly_the_declared_inputs(node_id: str) -> None:
    cls = NODE_CLASS_MAPPINGS[node_id]
    parameters = inspect.signature(getattr(cls, cls.FUNCTION)).parameters
    accepts_kwargs = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    inputs = _inputs(node_id)
    for name in inputs["required"]:
        assert name in parameters or accepts_kwargs, f"{node_id}.{cls.FUNCTION} lacks {name}"
    for name in inputs["optional"]:
        parameter = parameters.get(name)
        # ComfyUI passes an optional input only when it is connected or set.
        assert (
            parameter is not None and parameter.default is not parameter.empty
        ) or accepts_kwargs


_LOADER = """
import importlib.util, json, sys
path, name = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location(
    name, path + "/__init__.py", submodule_search_locations=[path]
)
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
print(json.dumps({
    "nodes": sorted(module.NODE_CLASS_MAPPINGS),
    "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("comfy_nodes", "torch")),
    "category": module.NODE_CLASS_MAPPINGS["DGXP_QuantizeColors"].CATEGORY,
}))
"""


@pytest.mark.parametrize("folder", ["any_name", "dgx-pixels.v2", "DGX Pixels"])
def test_pack_imports_from_custom_nodes_under_any_folder_name(tmp_path: Path, folder: str) -> None:
    target = tmp_path / "custom_nodes" / folder
    shutil.copytree(PACK_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    # ComfyUI's load_custom_node names a folder module after its full path, dots escaped.
    module_name = str(target).replace(".", "_x_")
    result = subprocess.run(
        [sys.executable, "-c", _LOADER, str(target), module_name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["nodes"] == NODE_IDS
    # Relative imports only: the repo's own `comfy_nodes` was never touched, nor torch.
    assert loaded["modules"] == []
    assert loaded["category"] == "DGX-Pixels/palette"


def test_the_pixel_core_imports_without_the_node_modules_or_torch() -> None:
    code = (
        "import sys, comfy_nodes.pixel.quantize; "
        "loaded = [m for m in sys.modules if m.startswith(('comfy_nodes.nodes', 'torch'))]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
