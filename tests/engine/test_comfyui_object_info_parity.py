"""The engine's `/object_info` for the core nodes matches REAL ComfyUI's.

`data/comfyui_object_info_core.json` is a snapshot of real ComfyUI 0.3.64's `/object_info`
(commit a125cd8) for every core node the engine emulates, read off a running server (see
docs/comfyui-compat.md for how to repeat it). Clients and the editor build widgets and
validate graphs from these fields, so names, order, types, defaults and ranges must agree.
Deliberate, documented differences: tooltips and descriptions (wording), the engine's
samplers/schedulers being a subset (in ComfyUI's order), file-list combos (machine-local),
and the V3-only keys ComfyUI adds for its V3 nodes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from engine.runner import EngineConfig, start_engine

SNAPSHOT = json.loads(
    (Path(__file__).parent / "data" / "comfyui_object_info_core.json").read_text(encoding="utf-8")
)["nodes"]
NODES = sorted(SNAPSHOT)
FILE_COMBOS = {"ckpt_name", "lora_name", "image"}
SAME_KEYS = (
    "input_order",
    "output",
    "output_is_list",
    "output_name",
    "name",
    "python_module",
    "category",
    "output_node",
)
NOT_COMPARED_OPTIONS = {"tooltip"}


@pytest.fixture(scope="module")
def engine_object_info(
    tmp_path_factory: pytest.TempPathFactory, engine_models_dir: Path
) -> Iterator[dict[str, Any]]:
    """`/object_info` of one real engine server, shared by this module's tests."""
    config = EngineConfig(
        base_dir=tmp_path_factory.mktemp("engine"), models_dir=engine_models_dir, port=0
    )
    with start_engine(config) as engine:
        yield requests.get(f"{engine.url}/object_info", timeout=30).json()


def _options(spec: list[Any]) -> dict[str, Any]:
    opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    return {k: v for k, v in opts.items() if k not in NOT_COMPARED_OPTIONS}


def _check_input(node: str, name: str, ours: Any, real: Any) -> list[str]:
    if not isinstance(real, list):  # hidden inputs: "PROMPT", "EXTRA_PNGINFO", ...
        return [] if ours == real else [f"{node}.{name}: {ours!r} != {real!r}"]
    problems = []
    if isinstance(real[0], list):
        if not isinstance(ours[0], list):
            return [f"{node}.{name}: ComfyUI has a combo, the engine {ours[0]!r}"]
        if name not in FILE_COMBOS:
            extra = [o for o in ours[0] if o not in real[0]]
            ordered = sorted(ours[0], key=real[0].index) if not extra else ours[0]
            if extra or ordered != ours[0]:
                problems.append(
                    f"{node}.{name}: combo {ours[0]} is not a subset of ComfyUI's, in its order"
                )
    elif ours[0] != real[0]:
        problems.append(f"{node}.{name}: type {ours[0]!r} != ComfyUI's {real[0]!r}")
    if _options(ours) != _options(real):
        problems.append(f"{node}.{name}: options {_options(ours)} != ComfyUI's {_options(real)}")
    return problems


@pytest.mark.parametrize("node", NODES)
def test_core_node_matches_real_comfyui(node: str, engine_object_info: dict[str, Any]) -> None:
    ours, real = engine_object_info[node], SNAPSHOT[node]
    problems = [
        f"{node}.{key}: {ours.get(key)!r} != ComfyUI's {real.get(key)!r}"
        for key in SAME_KEYS
        if ours.get(key) != real.get(key)
    ]
    for section, inputs in real["input"].items():
        for name, spec in inputs.items():
            if name not in ours["input"].get(section, {}):
                problems.append(f"{node}.{section}.{name}: missing in the engine")
                continue
            problems += _check_input(node, name, ours["input"][section][name], spec)
    assert not problems, "\n".join(problems)


def test_ksampler_schedulers_keep_comfyuis_order_with_simple_first(
    engine_object_info: dict[str, Any],
) -> None:
    # ComfyUI 0.3.64 lists simple, sgm_uniform, karras, exponential, ddim_uniform, beta,
    # normal, ...; an editor preselects the first entry of a combo without a default. The
    # engine has all but the two schedules made for flow models (docs/comfyui-compat.md O1).
    for node in ("KSampler", "KSamplerAdvanced"):
        schedulers = engine_object_info[node]["input"]["required"]["scheduler"][0]
        real = SNAPSHOT[node]["input"]["required"]["scheduler"][0]
        assert schedulers == [s for s in real if s not in {"linear_quadratic", "kl_optimal"}]


def test_snapshot_covers_every_core_node_the_engine_serves(
    engine_object_info: dict[str, Any],
) -> None:
    core = {name for name, info in engine_object_info.items() if not name.startswith("DGXP")}
    assert core == set(NODES)
