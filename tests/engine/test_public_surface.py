"""The engine runtime's public names exist and stay put (what the orchestrator may rely on)."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "engine.configs.tokenizer",
    "engine.graph",
    "engine.graph.cache",
    "engine.graph.executor",
    "engine.graph.node_call",
    "engine.graph.validation",
    "engine.graph.validate_inputs",
    "engine.extra_model_paths",
    "engine.limits",
    "engine.models.architecture",
    "engine.models.trainable",
    "engine.models.unet_build",
    "engine.node_loading",
    "engine.nodes",
    "engine.nodes.image",
    "engine.nodes.image_transform",
    "engine.runner",
    "engine.server",
    "engine.server.queue",
    "engine.server.hub",
    "engine.server.body",
    "engine.server.folders",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__, f"{name} has an empty __all__"
    for exported in module.__all__:
        assert hasattr(module, exported), f"{name}.__all__ names missing {exported!r}"


def test_runner_contract_names() -> None:
    runner = importlib.import_module("engine.runner")
    assert set(runner.__all__) == {"EngineConfig", "RunningEngine", "serve_forever", "start_engine"}
    fields = set(runner.EngineConfig.__dataclass_fields__)
    assert {
        "base_dir",
        "host",
        "port",
        "custom_node_dirs",
        "load_comfy_nodes",
        "device",
        "max_upload_mb",
    } <= fields


def test_training_loads_checkpoints_through_the_package_api() -> None:
    engine = importlib.import_module("engine")
    # the kohya backend fills sd-scripts' tokenizer cache from build_sdxl_tokenizers
    assert {"load_trainable_sdxl", "TrainableSDXL", "build_sdxl_tokenizers"} <= set(engine.__all__)
    fields = set(engine.TrainableSDXL.__dataclass_fields__)
    assert {
        "unet",
        "text_encoder_l",
        "text_encoder_g",
        "vae",
        "tokenizers",
        "unet_names",
        "unet_shapes",
        "alphas_cumprod",
    } <= fields
