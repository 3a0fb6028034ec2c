"""Inputs for the pure workflow tests: a small object_info in ComfyUI's exact shapes and a
tiny template library on disk."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.sdxl_graphs import txt2img_graph

from orchestrator.workflows import TemplateLibrary

_SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m"]
_SCHEDULERS = ["normal", "karras", "simple"]


def _info(
    inputs: dict[str, Any],
    outputs: list[str],
    *,
    output_node: bool = False,
    names: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "input": {"required": inputs},
        "input_order": {"required": list(inputs)},
        "output": outputs,
        "output_is_list": [False] * len(outputs),
        "output_name": names or outputs,
        "name": "",
        "display_name": "",
        "description": "",
        "python_module": "nodes",
        "category": "test",
        "output_node": output_node,
    }


@pytest.fixture
def object_info() -> dict[str, Any]:
    """ComfyUI-shaped /object_info for the core SDXL nodes plus one V3-combo node."""
    info = {
        "CheckpointLoaderSimple": _info(
            {"ckpt_name": [["tiny.safetensors", "other.safetensors"], {}]}, ["MODEL", "CLIP", "VAE"]
        ),
        "LoraLoader": _info(
            {
                "model": ["MODEL"],
                "clip": ["CLIP"],
                "lora_name": [["style.safetensors", "hero.safetensors"], {}],
                "strength_model": ["FLOAT", {"default": 1.0, "min": -100.0, "max": 100.0}],
                "strength_clip": ["FLOAT", {"default": 1.0, "min": -100.0, "max": 100.0}],
            },
            ["MODEL", "CLIP"],
        ),
        "CLIPTextEncode": _info(
            {"text": ["STRING", {"multiline": True}], "clip": ["CLIP"]}, ["CONDITIONING"]
        ),
        "EmptyLatentImage": _info(
            {
                "width": ["INT", {"default": 512, "min": 16, "max": 16384, "step": 8}],
                "height": ["INT", {"default": 512, "min": 16, "max": 16384, "step": 8}],
                "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}],
            },
            ["LATENT"],
        ),
        "KSampler": _info(
            {
                "model": ["MODEL"],
                "seed": [
                    "INT",
                    {"default": 0, "min": 0, "max": 2**64 - 1, "control_after_generate": True},
                ],
                "steps": ["INT", {"default": 20, "min": 1, "max": 10000}],
                "cfg": ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0}],
                "sampler_name": [_SAMPLERS, {}],
                "scheduler": [_SCHEDULERS, {}],
                "positive": ["CONDITIONING"],
                "negative": ["CONDITIONING"],
                "latent_image": ["LATENT"],
                "denoise": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0}],
            },
            ["LATENT"],
        ),
        "VAEDecode": _info({"samples": ["LATENT"], "vae": ["VAE"]}, ["IMAGE"]),
        "ImageQuantize": _info(
            {
                "image": ["IMAGE"],
                "colors": ["INT", {"default": 256, "min": 1, "max": 256}],
                "dither": ["COMBO", {"options": ["none", "floyd-steinberg"], "multiselect": False}],
            },
            ["IMAGE"],
        ),
        "SaveImage": _info(
            {"images": ["IMAGE"], "filename_prefix": ["STRING", {"default": "ComfyUI"}]},
            [],
            output_node=True,
        ),
    }
    return info


@pytest.fixture
def sdxl_graph() -> dict[str, Any]:
    """A complete, valid text-to-image graph with a quantize step (V3 combo)."""
    graph: dict[str, Any] = txt2img_graph(
        ckpt="tiny.safetensors", prompt="potion", seed=7, prefix="t"
    )
    graph["9"] = {
        "class_type": "ImageQuantize",
        "inputs": {"image": ["8", 0], "colors": 16, "dither": "none"},
    }
    graph["10"] = {
        "class_type": "SaveImage",
        "inputs": {"images": ["9", 0], "filename_prefix": "t"},
    }
    return graph


@pytest.fixture
def mini_sidecar() -> dict[str, Any]:
    return {
        "type": "dgxp_template_sidecar",
        "version": 1,
        "name": "mini",
        "description": "A tiny template for tests.",
        "outputs": {"sprite": "10"},
        "parameters": [
            {
                "name": "prompt",
                "type": "str",
                "default": None,
                "binds": [{"target": "6.text", "format": "{value}, pixel art"}],
            },
            {
                "name": "seed",
                "type": "int",
                "default": None,
                "random_when_none": True,
                "min": 0,
                "max": 2**64 - 1,
                "binds": ["3.seed"],
            },
            {
                "name": "steps",
                "type": "int",
                "default": 2,
                "min": 1,
                "max": 150,
                "binds": ["3.steps"],
            },
            {
                "name": "cfg",
                "type": "float",
                "default": 7.0,
                "min": 0,
                "max": 30,
                "binds": ["3.cfg"],
            },
            {
                "name": "width",
                "type": "int",
                "default": 64,
                "min": 64,
                "max": 2048,
                "multiple_of": 8,
                "binds": ["5.width"],
            },
            {
                "name": "dither",
                "type": "enum",
                "default": "none",
                "choices": ["none", "floyd-steinberg"],
                "binds": ["9.dither"],
            },
            {"name": "tiled", "type": "bool", "default": False, "binds": []},
            {
                "name": "sprite_size",
                "type": "size",
                "default": "auto",
                "min": 4,
                "max": 512,
                "binds": [],
            },
            {
                "name": "loras",
                "type": "loras",
                "default": [],
                "max": 4,
                "binds": ["3.model", "6.clip", "7.clip"],
            },
        ],
    }


LibraryFactory = Callable[..., TemplateLibrary]


def _write_library(
    root: Path, graph: dict[str, Any], side: dict[str, Any], name: str = "mini"
) -> TemplateLibrary:
    (root / "sidecars").mkdir(parents=True, exist_ok=True)
    (root / f"{name}.json").write_text(json.dumps(graph))
    (root / "sidecars" / f"{name}.json").write_text(json.dumps(side))
    return TemplateLibrary(root)


@pytest.fixture
def make_library(tmp_path: Path) -> LibraryFactory:
    """Write a graph + sidecar into tmp_path and open it as a library."""

    def make(graph: dict[str, Any], side: dict[str, Any], name: str = "mini") -> TemplateLibrary:
        return _write_library(tmp_path, graph, side, name)

    return make


@pytest.fixture
def library(
    make_library: LibraryFactory, sdxl_graph: dict[str, Any], mini_sidecar: dict[str, Any]
) -> TemplateLibrary:
    return make_library(sdxl_graph, mini_sidecar)
