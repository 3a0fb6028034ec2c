"""`dgx-pixels train eval`: the report path (or one JSON record) on stdout, refusals named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_testkit import cli_env
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app

TINY = [
    *("--param", "checkpoint=tiny_sdxl.safetensors"),
    *("--param", "width=64", "--param", "height=64", "--steps", "1"),
]


@pytest.fixture
def env(tmp_path: Path, engine_models_dir: Path) -> dict[str, str]:
    return cli_env(tmp_path, engine_models_dir)


def _run(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, ["train", "eval", *args], env=env, catch_exceptions=False)


def test_eval_writes_the_report_and_prints_one_json_record(
    orch_engine: Any, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "prompts.txt").write_text("a red potion\n")
    (tmp_path / "losses.json").write_text(json.dumps([[i * 10, 1.0 / i] for i in range(1, 4)]))
    args = ["tiny_lora", "-o", str(tmp_path / "report"), "--prompts", str(tmp_path / "prompts.txt")]
    args += ["--val-losses", str(tmp_path / "losses.json"), "--json", *TINY]
    result = _run([*args, "--backend", orch_engine.url], env)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["report"] == str(tmp_path / "report" / "report.html")
    assert record["converged"] is False  # 3 evaluations are too few to judge
    assert record["headline"].startswith("not converged: too few evaluations")
    assert "LPIPS not computed" in result.stderr
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [r["prompt"] for r in saved["rows"]] == ["a red potion"]


@pytest.mark.parametrize(
    ("extra", "code", "needle"),
    [
        (["--prompts", "empty.txt"], 1, "prompts="),
        (["--held-out", "."], 1, "held_out="),
        (["--val-losses", "empty.txt"], 2, "--val-losses="),
    ],
)
def test_bad_inputs_exit_naming_the_option(
    env: dict[str, str], tmp_path: Path, extra: list[str], code: int, needle: str
) -> None:
    (tmp_path / "empty.txt").write_text("# nothing\n")
    extra = [str(tmp_path / x) if x != extra[0] else x for x in extra]
    result = _run(["tiny_lora", "-o", str(tmp_path / "report"), *extra, *TINY], env)
    assert result.exit_code == code, result.output
    assert needle in result.stderr and not (tmp_path / "report").exists()


def test_an_unknown_lora_is_named_with_the_installed_ones(
    orch_engine: Any, env: dict[str, str], tmp_path: Path
) -> None:
    result = _run(["nope", "-o", str(tmp_path / "r"), *TINY, "--backend", orch_engine.url], env)
    assert result.exit_code == 1
    assert "lora='nope'" in result.stderr and "tiny_lora.safetensors" in result.stderr
    assert not (tmp_path / "r").exists()
