"""`KohyaBackend` against a fake `sdxl_train_network.py` (tests/training/fake_sd_scripts/),
launched for real through `python -m accelerate.commands.launch`: progress from its console
bar and TensorBoard events, the collected LoRA, a crash's tail, a stop and a resume."""

from __future__ import annotations

import json
import math
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from training.backend import StopRequested, TrainOutcome, TrainProgress, TrainRequest
from training.errors import (
    DatasetError,
    RegistryError,
    SdScriptsError,
    TrainerCrashed,
    TrainingError,
)
from training.kohya import KohyaBackend, locate_sd_scripts
from training.kohya.launcher import newest_state
from training.lora_io import read_lora
from training.spec import TrainingSpec

FAKE = Path(__file__).resolve().parents[1] / "fake_sd_scripts"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> KohyaBackend:
    install = locate_sd_scripts(FAKE, Path(sys.executable))
    return KohyaBackend(install, tmp_path_factory.mktemp("tokenizers"), stop_grace_s=5.0)


@pytest.fixture()
def request_(tmp_path: Path) -> TrainRequest:
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    for name in ("a", "b"):
        (dataset / f"{name}.png").write_bytes(b"png")
        (dataset / f"{name}.txt").write_text("pxlknight, a knight")
    images = [{"name": f"s{i}.png"} for i in range(5)]  # 5 listed: one is held out
    (dataset / "manifest.json").write_text(json.dumps({"version": 1, "images": images}))
    checkpoint = tmp_path / "base.safetensors"
    checkpoint.write_bytes(b"weights")
    spec = TrainingSpec(
        rank=4, alpha=2.0, steps=6, save_every_n_steps=3, validate_every_n_steps=2,
        learning_rate=2e-4,
    )  # fmt: skip
    return TrainRequest(spec, dataset, checkpoint, tmp_path / "work", "knight", "pxlknight")


def _expected_loss(step: int) -> float:
    return 0.2 / step**0.5  # what the fake reports


def test_a_run_reports_every_step_and_collects_a_kohya_lora(
    backend: KohyaBackend, request_: TrainRequest
) -> None:
    seen: list[TrainProgress] = []
    outcome = backend.train(request_, seen.append, lambda: False)
    bars = [p for p in seen if not p.message]
    assert [p.step for p in bars] == [0, 1, 2, 3, 4, 5, 6]  # 0: the bar's first draw
    bars = bars[1:]
    assert all(p.total_steps == 6 and p.it_per_s == pytest.approx(9.87) for p in bars)
    assert [p.loss for p in bars] == [
        pytest.approx(_expected_loss(s), rel=1e-3) for s in range(1, 7)
    ]
    assert any("caching latents" in p.message for p in seen)
    assert all(p.loss is None or math.isfinite(p.loss) for p in seen)
    final = seen[-1]
    assert (final.step, final.message, final.lr) == (6, "finished", pytest.approx(2e-4))
    assert outcome.backend == "kohya" and outcome.steps == 6 and outcome.resumed_from == 0
    # the final loss and the validation losses come from the TensorBoard events (float32)
    assert outcome.final_loss == pytest.approx(_expected_loss(6), rel=1e-6)
    assert [step for step, _ in outcome.val_losses] == [2, 4, 6]
    assert outcome.val_losses[-1][1] == pytest.approx(1.5 * _expected_loss(6), rel=1e-6)
    assert final.val_loss == pytest.approx(1.5 * _expected_loss(6), rel=1e-6)
    # sd-scripts finds both tokenizers under tokenizer_cache_dir, so it never asks the hub
    assert sorted(p.name for p in backend.tokenizer_cache_dir.iterdir()) == [
        "laion_CLIP-ViT-bigG-14-laion2B-39B-b160k",
        "openai_clip-vit-large-patch14",
    ]
    dataset = tomllib.loads((request_.work_dir / "dataset.toml").read_text())
    assert dataset["general"]["validation_seed"] == request_.spec.seed
    assert outcome.lora_path == request_.work_dir / "output" / "knight.safetensors"
    contents = read_lora(outcome.lora_path)
    assert {w.rank for w in contents.modules.values()} == {4}
    assert contents.metadata["ss_network_module"] == "networks.lora"
    config = tomllib.loads((request_.work_dir / "sd-scripts.toml").read_text())
    assert config["output_name"] == "knight" and config["network_dim"] == 4
    assert "steps: 100%" in (request_.work_dir / "sd-scripts.log").read_text()


def test_a_crash_mid_run_raises_with_the_tail_of_its_output(
    backend: KohyaBackend, request_: TrainRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SD_SCRIPTS", "crash")
    monkeypatch.setenv("FAKE_CRASH_AT", "3")
    seen: list[TrainProgress] = []
    with pytest.raises(TrainerCrashed) as crashed:
        backend.train(request_, seen.append, lambda: False)
    error = crashed.value
    assert error.returncode == 1 and error.backend == "kohya"
    assert "CUDA out of memory (fake)" in error.tail and "Traceback" in error.tail
    assert error.log_path is not None and "out of memory" in Path(error.log_path).read_text()
    assert "out of memory" in str(error)
    assert max(p.step for p in seen) == 2  # it got that far
    assert not (request_.work_dir / "output" / "knight.safetensors").exists()


@pytest.mark.slow  # one more launch (~3 s of accelerate start-up) for a small branch
def test_an_exit_without_the_lora_file_is_a_crash_too(
    backend: KohyaBackend, request_: TrainRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SD_SCRIPTS", "nolora")
    with pytest.raises(TrainerCrashed) as crashed:
        backend.train(request_, lambda p: None, lambda: False)
    assert crashed.value.returncode == 0 and "wrote no" in crashed.value.tail


def test_a_stop_ends_the_run_and_resume_continues_from_its_last_state(
    backend: KohyaBackend, request_: TrainRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SD_SCRIPTS", "slow")
    monkeypatch.setenv("FAKE_STEP_S", "0.1")
    steps: list[int] = []

    def report(progress: TrainProgress) -> None:
        steps.append(progress.step)

    with pytest.raises(StopRequested):
        backend.train(request_, report, lambda: bool(steps) and steps[-1] >= 4)
    state = newest_state(request_.work_dir / "output", "knight")
    assert state is not None and state[1] in (3,)  # saved every 3 steps; stopped before 6
    monkeypatch.setenv("FAKE_SD_SCRIPTS", "ok")
    resumed: list[TrainProgress] = []
    again = TrainRequest(**{**request_.__dict__, "resume": True})
    outcome: TrainOutcome = backend.train(again, resumed.append, lambda: False)
    assert resumed[0].step == 3 and "resuming" in resumed[0].message
    assert [p.step for p in resumed if not p.message] == [3, 4, 5, 6]
    assert (outcome.resumed_from, outcome.steps) == (3, 6)
    config = tomllib.loads((request_.work_dir / "sd-scripts.toml").read_text())
    assert config["resume"] == str(state[0].absolute())


def test_a_half_saved_state_is_not_resumed_from(tmp_path: Path) -> None:
    out = tmp_path / "output"
    for step, whole in ((3, True), (6, False)):
        folder = out / f"knight-step{step:08d}-state"
        folder.mkdir(parents=True)
        (folder / "train_state.json").write_text(json.dumps({"current_step": step}))
        if whole:
            (folder / "random_states_0.pkl").write_bytes(b"x")
    assert newest_state(out, "knight") == (out / "knight-step00000003-state", 3)
    assert newest_state(out, "other") is None


def test_sample_images_asked_of_sd_scripts_are_a_warning_not_a_silent_no(
    backend: KohyaBackend, request_: TrainRequest, caplog: pytest.LogCaptureFixture
) -> None:
    spec = request_.spec.model_copy(update={"sample_every_n_steps": 100})
    with caplog.at_level("WARNING", logger="training.kohya.launcher"):
        files, resumed_from = backend.prepare(replace(request_, spec=spec))
    assert resumed_from == 0 and files.config.is_file()
    assert [r.getMessage() for r in caplog.records if r.name == "training.kohya.launcher"] == [
        "sample_every_n_steps=100: sd-scripts runs draw no sample images yet "
        "(the embedded trainer does)"
    ]


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ({"output_name": "../escape"}, RegistryError, "name"),
        ({"dataset_dir": Path("/nonexistent/ds")}, DatasetError, "dataset_dir"),
        (
            {"base_checkpoint": Path("/nonexistent/base.safetensors")},
            TrainingError,
            "base_checkpoint",
        ),
    ],
)
def test_bad_inputs_are_refused_before_anything_is_launched(
    backend: KohyaBackend,
    request_: TrainRequest,
    change: dict[str, object],
    error: type,
    field: str,
) -> None:
    bad = TrainRequest(**{**request_.__dict__, **change})
    with pytest.raises(error) as refused:
        backend.train(bad, lambda p: None, lambda: False)
    assert refused.value.field == field
    assert not (request_.work_dir / "sd-scripts.log").exists()


def test_a_python_removed_after_the_check_is_named_when_the_run_starts(
    tmp_path: Path, request_: TrainRequest
) -> None:
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    backend = KohyaBackend(locate_sd_scripts(FAKE, python), tmp_path / "tok")
    python.unlink()
    with pytest.raises(SdScriptsError) as refused:
        backend.train(request_, lambda p: None, lambda: False)
    assert (refused.value.field, refused.value.value) == ("sd_scripts_python", str(python))
