"""The engine group's pure parts: `--gpus` slots, the members file, member configs.

A real group of two CPU engine processes (start, kill -9, restart, discovery by the pool)
is exercised in tests/orchestrator/service/test_engine_group.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import EngineError
from engine.runner import EngineConfig
from engine.supervisor import (
    MemberSlot,
    config_from_json,
    config_to_json,
    group_file,
    member_config,
    parse_gpus,
    read_group_members,
)


def _two_gpus() -> int:
    return 2


def test_cpu_n_gives_n_cpu_members_on_consecutive_ports() -> None:
    assert parse_gpus("cpu:2", 9000) == (
        MemberSlot(0, "cpu", "", 9000),
        MemberSlot(1, "cpu", "", 9001),
    )


def test_gpu_indexes_pin_each_member_and_may_repeat_a_gpu() -> None:
    slots = parse_gpus("1, 0,0", 8188)
    assert [(s.device, s.visible_devices, s.port) for s in slots] == [
        ("cuda", "1", 8188),
        ("cuda", "0", 8189),
        ("cuda", "0", 8190),
    ]


def test_all_is_every_gpu_or_the_inherited_visible_devices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert [s.visible_devices for s in parse_gpus("all", 1, _two_gpus)] == ["0", "1"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert [s.visible_devices for s in parse_gpus("all", 1, _two_gpus)] == ["3", "5"]


def test_all_without_a_gpu_says_to_use_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with pytest.raises(EngineError, match=r"gpus='all'.*cpu:N"):
        parse_gpus("all", 8188, lambda: 0)


@pytest.mark.parametrize("spec", ["", "gpu0", "0,,1", "cpu:", "cpu:0", "cpu:x", "-1", "cpu:65"])
def test_a_malformed_spec_is_refused_naming_it(spec: str) -> None:
    with pytest.raises(EngineError, match=f"gpus={spec!r}"):
        parse_gpus(spec, 8188, _two_gpus)


@pytest.mark.parametrize(("port", "spec"), [(0, "cpu:1"), (65535, "cpu:2"), (-5, "0")])
def test_a_port_range_outside_the_valid_ports_is_refused(port: int, spec: str) -> None:
    with pytest.raises(EngineError, match=f"port={port}"):
        parse_gpus(spec, port, _two_gpus)


def test_group_file_lives_under_the_data_dir(tmp_path: Path) -> None:
    assert group_file(tmp_path, "local") == tmp_path / "engine" / "groups" / "local.json"


@pytest.mark.parametrize("name", ["", "Local", "../x", "a b", "x" * 64])
def test_a_bad_group_name_is_refused_naming_it(tmp_path: Path, name: str) -> None:
    with pytest.raises(EngineError, match=f"group={name!r}"):
        group_file(tmp_path, name)


def test_a_missing_members_file_lists_no_member(tmp_path: Path) -> None:
    assert read_group_members(tmp_path / "nothing.json") == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "cannot be read"),
        ('{"type": "other"}', "not a members file"),
        ('{"type": "engine_group", "version": 99, "members": []}', "version 99"),
        ('{"type": "engine_group", "version": 1, "members": [{"x": 1}]}', "malformed member"),
        ('{"type": "engine_group", "version": 1}', "malformed member"),
    ],
)
def test_a_bad_members_file_is_refused_naming_the_file(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "g.json"
    path.write_text(text)
    with pytest.raises(EngineError, match=problem) as caught:
        read_group_members(path)
    assert str(path) in str(caught.value)


def test_a_config_travels_to_a_member_as_json_unchanged(tmp_path: Path) -> None:
    config = EngineConfig(
        base_dir=tmp_path, port=9, custom_node_dirs=(tmp_path / "packs",), warmup="64x64"
    )
    assert config_from_json(config_to_json(config)) == config


@pytest.mark.parametrize("text", ["[]", "{", '{"no_such_field": 1}'])
def test_a_member_config_that_is_not_an_engine_config_is_refused(text: str) -> None:
    with pytest.raises(EngineError, match="not an EngineConfig"):
        config_from_json(text)


def test_members_share_models_and_input_but_not_output_or_temp(tmp_path: Path) -> None:
    config = EngineConfig(base_dir=tmp_path, port=1)
    first, second = (member_config(config, MemberSlot(i, "cpu", "", 7 + i)) for i in (0, 1))
    assert (first.port, second.port, first.device) == (7, 8, "cpu")
    assert first.models_dir == second.models_dir == (tmp_path / "models").resolve()
    assert first.input_dir == second.input_dir
    assert first.output_dir != second.output_dir and first.temp_dir != second.temp_dir
    assert first.output_dir is not None and first.output_dir.name == "member-0"
    json.loads(config_to_json(first))  # plain JSON for the member's command line
