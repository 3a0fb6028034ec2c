"""Training through the service with sd-scripts configured (`settings.sd_scripts`): the job
runs the fake `sdxl_train_network.py` through accelerate, registers its LoRA with a card;
a crash fails the job with the trainer's last lines and leaves `models/loras/` empty; so
does a wrong checkout, with an error naming its path."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from train_testkit import dataset_dir

from orchestrator.composition import build_service
from orchestrator.errors import InvalidRequest
from orchestrator.jobs import JobState
from orchestrator.service import Service
from orchestrator.service.train_service import TrainJobRequest
from orchestrator.settings import Settings
from training.registry import read_card

FAKE = Path(__file__).resolve().parents[2] / "training" / "fake_sd_scripts"

MakeService = Callable[..., Service]


@pytest.fixture
def make_service(tmp_path: Path, tiny_models: Path) -> Iterator[MakeService]:
    services: list[Service] = []

    def make(sd_scripts: Path = FAKE) -> Service:
        settings = Settings(
            data_dir=tmp_path / "data",
            models_dir=tiny_models,
            health_interval_s=0.5,
            sd_scripts=sd_scripts,
            sd_scripts_python=Path(sys.executable),
        )
        service = build_service(settings, backends=False).start()
        services.append(service)
        return service

    yield make
    for service in services:
        service.stop()


def _request(tmp_path: Path) -> TrainJobRequest:
    return TrainJobRequest(dataset_dir=dataset_dir(tmp_path / "ds"), name="knight", steps=4)


@pytest.mark.slow  # the CLI test (test_cli_train_sd_scripts) runs this path by default
def test_a_train_job_runs_sd_scripts_and_registers_its_lora(
    tmp_path: Path, make_service: MakeService, tiny_models: Path
) -> None:
    service = make_service()
    done = service.wait(service.train(_request(tmp_path)).id, timeout_s=120)
    assert done.state is JobState.SUCCEEDED, done.error
    assert (tiny_models / "loras" / "knight.safetensors").is_file()
    card = read_card(tiny_models / "loras", "knight")
    assert card is not None and card.backend == "kohya"
    assert card.trigger_words == ("pxlknight",) and card.metrics["steps"] == 4
    assert [(m.name, m.triggers) for m in service.loras()] == [
        ("knight.safetensors", ("pxlknight",))
    ]


def test_an_sd_scripts_crash_fails_the_job_with_its_tail_and_registers_nothing(
    tmp_path: Path, make_service: MakeService, tiny_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SD_SCRIPTS", "crash")
    service = make_service()
    done = service.wait(service.train(_request(tmp_path)).id, timeout_s=120)
    assert done.state is JobState.FAILED
    assert done.error is not None and "CUDA out of memory (fake)" in done.error
    assert not (tiny_models / "loras").exists() or not any((tiny_models / "loras").iterdir())


def test_a_wrong_sd_scripts_checkout_is_refused_naming_the_path_before_anything_is_stored(
    tmp_path: Path, make_service: MakeService, tiny_models: Path
) -> None:
    service = make_service(sd_scripts=tmp_path / "no-such-checkout")
    with pytest.raises(InvalidRequest) as refused:
        service.train(_request(tmp_path))
    assert "sd_scripts=" in str(refused.value)
    assert str(tmp_path / "no-such-checkout") in str(refused.value)
    assert service.list_jobs() == []
    assert not (tiny_models / "loras").exists() or not any((tiny_models / "loras").iterdir())
