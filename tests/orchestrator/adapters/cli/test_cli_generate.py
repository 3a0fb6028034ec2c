"""The CLI over the service: generate, batch, jobs, templates, models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app

TINY = [
    *("--param", "checkpoint=tiny_sdxl.safetensors"),
    *("--param", "width=64", "--param", "height=64"),
]


@pytest.fixture
def env(tmp_path: Path, engine_models_dir: Path) -> dict[str, str]:
    (tmp_path / "none.toml").write_text("")  # a named config must exist; this one is empty
    return {
        "DGXP_DATA_DIR": str(tmp_path / "data"),
        "DGXP_MODELS_DIR": str(engine_models_dir),
        "DGXP_CONFIG": str(tmp_path / "none.toml"),
    }


def _run(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def test_generate_prints_sprite_paths_and_warns_about_the_demo_model(
    orch_engine: Any, env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "sprites"
    args = ["generate", "a red potion", "-n", "2", "--seed", "4", "--steps", "1", *TINY]
    args += ["--lora", "tiny_lora.safetensors:0.5", "--out", str(out)]
    result = _run([*args, "--backend", orch_engine.url], env)
    assert result.exit_code == 0, result.output
    sprites = sorted(out.rglob("*_0.png"))
    assert len(sprites) == 2
    flat = result.output.replace("\n", "")
    assert all(p.name in flat for p in sprites)
    assert "meaningless" in result.output

    listed = _run(["jobs", "list", "--json"], env)
    jobs = json.loads(listed.output)
    assert sorted(j["seed"] for j in jobs) == [4, 5]
    assert {j["state"] for j in jobs} == {"succeeded"}
    shown = _run(["jobs", "show", jobs[0]["id"][:8], "--json"], env)
    assert json.loads(shown.output)["files"][0]["sprite"].startswith(str(out))
    refused = _run(["jobs", "cancel", jobs[0]["id"]], env)
    assert refused.exit_code == 1 and "succeeded" in refused.output


def test_generate_takes_exactly_the_comfyui_seed_range(
    orch_engine: Any, env: dict[str, str]
) -> None:
    base = ["generate", "a gem", "--steps", "1", *TINY, "--backend", orch_engine.url]
    result = _run([*base, "--seed", str(2**64 - 1)], env)
    assert result.exit_code == 0, result.output
    jobs = json.loads(_run(["jobs", "list", "--json"], env).output)
    assert [j["seed"] for j in jobs] == [2**64 - 1]
    for bad in (str(2**64), "-1"):
        refused = _run([*base, "--seed", bad], env)
        assert refused.exit_code == 2 and "0..18446744073709551615" in refused.output
    assert len(json.loads(_run(["jobs", "list", "--json"], env).output)) == 1


def test_generate_with_bad_input_exits_1_naming_the_problem(
    orch_engine: Any, env: dict[str, str]
) -> None:
    base = ["generate", "x", "--backend", orch_engine.url, *TINY]
    cases = [
        (["--template", "nope"], "nope"),
        (["--size", "32"], "WIDTHxHEIGHT"),
        (["--lora", "ghost.safetensors"], "ghost.safetensors"),
        (["--palette", "no-such"], "no-such"),
        (["--param", "steps=-1"], "steps"),
    ]
    for extra, needle in cases:
        result = _run([*base, *extra], env)
        assert result.exit_code == 1 and needle in result.output, (extra, result.output)
    unreachable = _run(["generate", "x", "--backend", "http://127.0.0.1:9", *TINY], env)
    assert unreachable.exit_code == 1 and "no healthy backend" in unreachable.output
    assert json.loads(_run(["jobs", "list", "--json"], env).output) == []


def test_batch_file_runs_every_row(orch_engine: Any, env: dict[str, str], tmp_path: Path) -> None:
    batch = tmp_path / "prompts.jsonl"
    rows = [{"prompt": p, "seed": 1, "steps": 1, "width": 64, "height": 64} for p in ("a", "b")]
    for row in rows:
        row["checkpoint"] = "tiny_sdxl.safetensors"
    batch.write_text("\n".join(json.dumps(r) for r in rows))
    result = _run(["batch", str(batch), "--backend", orch_engine.url], env)
    assert result.exit_code == 0, result.output
    jobs = json.loads(_run(["jobs", "list", "--json"], env).output)
    assert sorted(j["prompt"] for j in jobs) == ["a", "b"]


def test_templates_and_models_listings(env: dict[str, str]) -> None:
    listed = _run(["templates", "list"], env)
    assert listed.exit_code == 0 and "single_sprite" in listed.output
    shown = _run(["templates", "show", "single_sprite", "--json"], env)
    assert "sprite_size" in {p["name"] for p in json.loads(shown.output)["parameters"]}
    missing = _run(["templates", "show", "nope"], env)
    assert missing.exit_code == 1 and "single_sprite" in missing.output
    models = json.loads(_run(["models", "list", "--json"], env).output)
    assert {(m["folder"], m["name"], m["demo"]) for m in models} == {
        ("checkpoints", "tiny_sdxl.safetensors", True),
        ("loras", "tiny_lora.safetensors", False),
    }


def test_jobs_on_an_empty_database(env: dict[str, str]) -> None:
    assert "no jobs yet" in _run(["jobs", "list"], env).output
    missing = _run(["jobs", "retry", "deadbeef"], env)
    assert missing.exit_code == 1 and "deadbeef" in missing.output


def test_generate_defaults_to_the_in_process_engine(env: dict[str, str], tmp_path: Path) -> None:
    result = _run(["generate", "a gem", "--seed", "1", "--steps", "1", *TINY], env)
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "data" / "outputs").rglob("*_0.png"))) == 1


def test_lora_and_checkpoint_names_work_without_their_extension(
    orch_engine: Any, env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "sprites"
    args = ["generate", "a coin", "--steps", "1", "--param", "width=64", "--param", "height=64"]
    args += ["--param", "checkpoint=tiny_sdxl", "--lora", "tiny_lora:0.5", "-o", str(out)]
    result = _run([*args, "--backend", orch_engine.url, "--json"], env)
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["state"] == "succeeded"
    assert record["params"]["checkpoint"] == "tiny_sdxl.safetensors"
    assert record["params"]["loras"] == [{"name": "tiny_lora.safetensors", "strength": 0.5}]
    assert Path(record["files"][0]["sprite"]).is_file()
    per_file = [w for files in record["files"] for w in files["qa_warnings"]]
    assert record["qa_warnings"] == list(dict.fromkeys(per_file))
    for warning in per_file:  # the QA findings are visible to the person too
        assert warning in result.stderr


def test_stdout_holds_only_the_sprite_paths(
    orch_engine: Any, env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / ("a-long-output-folder-name-" * 3)
    args = ["generate", "a gem", "-n", "2", "--steps", "1", *TINY, "-o", str(out)]
    result = _run([*args, "--backend", orch_engine.url], env)
    assert result.exit_code == 0, result.stderr
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 2 and all(p.is_file() and p.is_relative_to(out) for p in paths)
    assert "meaningless" in result.stderr


def test_no_installed_checkpoint_points_to_models_demo_and_the_folder(
    tmp_path: Path, env: dict[str, str]
) -> None:
    from engine.runner import EngineConfig, start_engine

    empty = tmp_path / "empty-models"
    (empty / "checkpoints").mkdir(parents=True)
    engine = start_engine(
        EngineConfig(base_dir=tmp_path / "e", models_dir=empty, port=0, device="cpu")
    )
    try:
        env = {**env, "DGXP_MODELS_DIR": str(empty)}
        result = _run(["generate", "a gem", "--backend", engine.url], env)
    finally:
        engine.stop()
    assert result.exit_code == 1
    assert "dgx-pixels models demo" in result.stderr
    assert str(empty / "checkpoints") in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""
