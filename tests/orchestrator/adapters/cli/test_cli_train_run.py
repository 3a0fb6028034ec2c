"""`dgx-pixels train run`: the acceptance path (dataset -> train run -> generate --lora) on CPU
with the tiny model and the embedded trainer, and bad input as one error line with nothing
queued and nothing under models/loras touched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_testkit import cli_env
from PIL import Image
from train_testkit import sprite_sources
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app
from orchestrator.jobs import JobKind, JobState, JobStore

# Few steps, small and fast; a high learning rate so 4 steps visibly move the LoRA.
_SPEC = """\
steps = 4
resolution = 256
rank = 4
alpha = 4
learning_rate = 1e-2
save_every_n_steps = 2
validate_every_n_steps = 2
"""
_GENERATE = ["--seed", "3", "--steps", "2", "--param", "width=128", "--param", "height=128"]


@pytest.fixture
def env(tmp_path: Path, tiny_models: Path) -> dict[str, str]:
    return cli_env(tmp_path, tiny_models, DGXP_TRAIN_DEVICE="cpu", COLUMNS="40")


def _run(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def _dataset(tmp_path: Path, env: dict[str, str]) -> Path:
    done = _run(
        ["train", "dataset", str(sprite_sources(tmp_path / "src")), "-o", str(tmp_path / "ds"),
         "--trigger", "pxlknight"],
        env,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return tmp_path / "ds"


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"))


def test_dataset_then_train_run_then_generate_with_the_lora(
    tmp_path: Path, env: dict[str, str]
) -> None:
    dataset = _dataset(tmp_path, env)
    (tmp_path / "train.toml").write_text(_SPEC)
    trained = _run(
        ["train", "run", str(dataset), "--name", "knight", "--spec", str(tmp_path / "train.toml")],
        env,
    )
    assert trained.exit_code == 0, trained.output
    lora = Path(env["DGXP_MODELS_DIR"]) / "loras" / "knight.safetensors"
    assert str(lora) in trained.stdout.replace("\n", "")
    assert "✓ knight: 4 steps with embedded, final loss" in trained.stderr
    card = json.loads(lora.with_suffix(".json").read_text())
    assert (card["trigger_words"], card["backend"]) == (["pxlknight"], "embedded")
    with JobStore(Path(env["DGXP_DATA_DIR"]) / "jobs.sqlite3") as store:
        (job,) = store.list_jobs()
    shown = _run(["train", "status", job.id[:8], "--json"], env)
    assert shown.exit_code == 0, shown.output
    status = json.loads(shown.stdout)
    assert (status["job"]["state"], status["result"]["lora_path"]) == ("succeeded", str(lora))
    assert [step for step, _ in status["losses"]][-1] == 4

    base = _run(["generate", "a knight", *_GENERATE, "-o", str(tmp_path / "base")], env)
    assert base.exit_code == 0, base.output
    styled = _run(
        ["generate", "a knight", *_GENERATE, "--lora", "knight", "-o", str(tmp_path / "lora")],
        env,
    )
    assert styled.exit_code == 0, styled.output
    (base_png,) = (tmp_path / "base").rglob("*_0.png")
    (lora_png,) = (tmp_path / "lora").rglob("*_0.png")
    assert not np.array_equal(_pixels(base_png), _pixels(lora_png))
    with JobStore(Path(env["DGXP_DATA_DIR"]) / "jobs.sqlite3") as store:
        kinds = sorted((j.kind, j.state) for j in store.list_jobs())
    assert (JobKind.TRAIN, JobState.SUCCEEDED) in kinds


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--name", "knight", "--steps", "0"], "steps=0"),
        (["--name", "../up", "--steps", "1"], "name='../up'"),
        (["--name", "knight", "--max-hours", "-1"], "max_hours=-1.0"),
        (["--name", "knight", "--base", "missing.safetensors"], "base='missing.safetensors'"),
    ],
)
def test_bad_flags_are_one_error_line_and_nothing_is_queued(
    tmp_path: Path, env: dict[str, str], extra: list[str], match: str
) -> None:
    dataset = tmp_path / "ds"
    dataset.mkdir()
    (dataset / "manifest.json").write_text('{"trigger": "pxl"}')
    done = _run(["train", "run", str(dataset), *extra], env)
    assert done.exit_code == 2
    assert done.stderr.startswith("error:") and match in done.stderr
    assert done.stdout == ""
    with JobStore(Path(env["DGXP_DATA_DIR"]) / "jobs.sqlite3") as store:
        assert store.count() == 0


def test_unknown_dataset_and_bad_spec_are_refused_by_name(
    tmp_path: Path, env: dict[str, str]
) -> None:
    missing = _run(["train", "run", str(tmp_path / "nowhere"), "--name", "knight"], env)
    assert missing.exit_code == 2 and "dataset=" in missing.stderr
    assert "is not a folder" in missing.stderr
    dataset = tmp_path / "ds"
    dataset.mkdir()
    (dataset / "manifest.json").write_text("{}")
    (tmp_path / "train.toml").write_text("ranks = 8\n")
    bad = _run(
        ["train", "run", str(dataset), "--name", "k", "--spec", str(tmp_path / "train.toml")], env
    )
    assert bad.exit_code == 2 and "ranks=8: unknown key in train.toml" in bad.stderr


def test_name_collision_without_overwrite_leaves_models_loras_untouched(
    tmp_path: Path, env: dict[str, str]
) -> None:
    loras = Path(env["DGXP_MODELS_DIR"]) / "loras"
    loras.mkdir()
    (loras / "knight.safetensors").write_bytes(b"theirs")
    (loras / "knight.json").write_text("{}")
    dataset = tmp_path / "ds"
    dataset.mkdir()
    (dataset / "manifest.json").write_text("{}")
    done = _run(["train", "run", str(dataset), "--name", "knight"], env)
    assert done.exit_code == 2
    assert "name='knight'" in done.stderr and "--overwrite" in done.stderr
    assert sorted(p.name for p in loras.iterdir()) == ["knight.json", "knight.safetensors"]
    assert (loras / "knight.safetensors").read_bytes() == b"theirs"


def test_no_wait_prints_the_queued_job_id(tmp_path: Path, env: dict[str, str]) -> None:
    dataset = tmp_path / "ds"
    dataset.mkdir()
    (dataset / "manifest.json").write_text("{}")
    done = _run(["train", "run", str(dataset), "--name", "knight", "--no-wait"], env)
    assert done.exit_code == 0, done.output
    job_id = done.stdout.strip()
    with JobStore(Path(env["DGXP_DATA_DIR"]) / "jobs.sqlite3") as store:
        job = store.get(job_id)
    assert (job.kind, job.params["name"]) == (JobKind.TRAIN, "knight")
    assert "queued" in done.stderr


def test_train_status_of_an_unknown_or_generate_job_is_one_error_line(
    tmp_path: Path, env: dict[str, str]
) -> None:
    from orchestrator.jobs import NewJob

    missing = _run(["train", "status", "ffffffff"], env)
    assert missing.exit_code == 1 and "job_id='ffffffff'" in missing.stderr
    with JobStore(Path(env["DGXP_DATA_DIR"]) / "jobs.sqlite3") as store:
        (job,) = store.create([NewJob("single_sprite", {"prompt": "p"}, 1)])
    other = _run(["train", "status", job.id], env)
    assert other.exit_code == 1 and "is a generate job, not a training run" in other.stderr
