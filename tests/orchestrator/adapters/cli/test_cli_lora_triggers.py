"""`models list` shows LoRAs with their trigger words (cards or not, a corrupt card warned
about); `generate --lora NAME` puts the trigger before the prompt unless `--no-trigger`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_testkit import cli_env
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app
from training.registry import LoraCard


def _card(loras: Path, stem: str, *triggers: str) -> None:
    card = LoraCard(name=stem, trigger_words=triggers, backend="embedded")
    (loras / f"{stem}.json").write_text(card.model_dump_json())


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "models" / "loras").mkdir(parents=True)
    return cli_env(tmp_path, tmp_path / "models")


def _run(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def test_models_list_shows_loras_with_triggers_and_warns_about_a_corrupt_card(
    env: dict[str, str],
) -> None:
    loras = Path(env["DGXP_MODELS_DIR"]) / "loras"
    for stem in ("knight", "plain", "broken"):
        (loras / f"{stem}.safetensors").write_bytes(b"x")
    _card(loras, "knight", "pxlknight", "8bit")
    (loras / "broken.json").write_text("{oops")
    result = _run(["models", "list"], env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "loras/knight.safetensors\tlocal\ttrigger: pxlknight, 8bit" in lines
    assert "loras/plain.safetensors\tlocal" in lines
    assert "loras/broken.safetensors\tlocal" in lines
    assert "broken.safetensors: card unreadable" in result.stderr
    listed = json.loads(_run(["models", "list", "--json"], env).stdout)
    triggers = {item["name"]: item["triggers"] for item in listed}
    assert triggers == {
        "broken.safetensors": [],
        "knight.safetensors": ["pxlknight", "8bit"],
        "plain.safetensors": [],
    }


def test_generate_with_a_corrupt_card_fails_naming_it_and_no_trigger_skips_the_card(
    orch_engine: Any, env: dict[str, str], tmp_path: Path
) -> None:
    # The engine lists tiny_lora.safetensors; the (corrupt) card sits in this CLI's models
    # folder. Reading it is what `--lora` does by default (the service test shows the trigger
    # reaching the stored prompt); `--no-trigger` must not read it at all.
    (Path(env["DGXP_MODELS_DIR"]) / "loras" / "tiny_lora.json").write_text("null")
    args = ["generate", "a red potion", "--seed", "3", "--steps", "1", "--lora", "tiny_lora"]
    args += ["--param", "checkpoint=tiny_sdxl.safetensors", "--param", "width=64"]
    args += ["--param", "height=64", "--backend", orch_engine.url, "--json"]
    refused = _run(args, env)
    assert refused.exit_code != 0
    assert "tiny_lora.json" in refused.output and "--no-trigger" in refused.output
    assert json.loads(_run(["jobs", "list", "--json"], env).stdout) == []
    result = _run([*args, "--no-trigger", "--out", str(tmp_path / "out")], env)
    assert result.exit_code == 0, result.output
    job_id = json.loads(result.stdout.splitlines()[0])["id"]
    shown = json.loads(_run(["jobs", "show", job_id, "--json"], env).stdout)
    assert shown["prompt"] == "a red potion"
