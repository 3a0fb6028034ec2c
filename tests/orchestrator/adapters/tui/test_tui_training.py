"""The TUI's training screen against a real service and bridge over real ZeroMQ (ipc://):
the loss sparkline fills as steps arrive, samples appear, `c` cancels the run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Sparkline, Static
from train_testkit import StepTrainer, dataset_dir

from orchestrator.adapters.tui.app import PixelsApp
from orchestrator.adapters.tui.daemon_client import DaemonClient
from orchestrator.adapters.tui.graphics import GraphicsMode
from orchestrator.adapters.tui.training import TrainingScreen
from orchestrator.adapters.tui.widgets import JobList, PreviewPane
from orchestrator.adapters.zmq.bridge import BridgeConfig, ZmqBridge
from orchestrator.composition import build_service
from orchestrator.jobs import JobState
from orchestrator.service import Service
from orchestrator.service.outputs import FileHasher
from orchestrator.service.train_parts import RegistryDoor, TrainingParts
from orchestrator.service.train_service import TrainJobRequest
from orchestrator.settings import Settings


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    models = tmp_path / "models"
    (models / "checkpoints").mkdir(parents=True)
    (models / "checkpoints" / "base.safetensors").write_bytes(b"base")
    settings = Settings(data_dir=tmp_path / "data", models_dir=models, health_interval_s=0.5)
    parts = TrainingParts(
        choose_trainer=lambda: StepTrainer(step_s=0.05, sample_every=4),
        registry=RegistryDoor(models / "loras", FileHasher()),
        device="cpu",
        data_dir=settings.data_dir,
    )
    running = build_service(settings, backends=False, training=parts).start()
    yield running
    running.stop()


@pytest.fixture
def daemon(service: Service, endpoints: BridgeConfig) -> Iterator[ZmqBridge]:
    with ZmqBridge(service, endpoints) as running:
        yield running


async def _until(pilot: Any, cond: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.05)


def _app(endpoints: BridgeConfig) -> PixelsApp:
    client = DaemonClient(endpoints.router, endpoints.pub, timeout_s=5)
    return PixelsApp(client, GraphicsMode.HALFCELL)


async def test_training_screen_shows_loss_and_samples_live_and_cancels(
    tmp_path: Path, service: Service, daemon: ZmqBridge, endpoints: BridgeConfig
) -> None:
    job = service.train(
        TrainJobRequest(dataset_dir(tmp_path / "ds"), "knight", steps=3000, base="base")
    )
    app = _app(endpoints)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.connected and job.id in app.book.jobs)
        app.query_one(JobList).focus()  # keys go to the prompt while it has the focus
        await pilot.press("t")
        screen = app.screen
        assert isinstance(screen, TrainingScreen) and screen.job.id == job.id
        await _until(pilot, lambda: len(screen.losses) >= 6 and screen.samples_shown >= 1)
        spark = screen.query_one(Sparkline)
        assert list(spark.data or []) == screen.losses
        assert screen.losses == sorted(screen.losses, reverse=True)  # 1/step: falling
        assert screen.query_one(PreviewPane).image is not None  # a sample is drawn
        figures = str(screen.query_one("#training-figures", Static).render())
        assert "running" in figures and "/3000" in figures and "loss " in figures
        await pilot.press("c")
        await _until(pilot, lambda: service.get_job(job.id).state is JobState.CANCELLED)
        await _until(pilot, lambda: screen.job.state == JobState.CANCELLED)
        assert "cancelled" in str(screen.query_one("#training-title").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, TrainingScreen)
    latest = service.training_status(job.id).latest
    assert latest is not None and latest.step < 3000


async def test_training_key_without_a_training_job_says_how_to_start_one(
    daemon: ZmqBridge, endpoints: BridgeConfig
) -> None:
    app = _app(endpoints)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.connected)
        app.query_one(JobList).focus()  # keys go to the prompt while it has the focus
        await pilot.press("t")
        assert not isinstance(app.screen, TrainingScreen)
        assert any("dgx-pixels train run" in n.message for n in app._notifications)


async def test_reopening_loads_the_history_of_a_finished_run(
    tmp_path: Path, service: Service, daemon: ZmqBridge, endpoints: BridgeConfig
) -> None:
    job = service.train(
        TrainJobRequest(dataset_dir(tmp_path / "ds"), "knight", steps=10, base="base")
    )
    assert service.wait(job.id, 60).state is JobState.SUCCEEDED
    app = _app(endpoints)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.connected and job.id in app.book.jobs)
        app.query_one(JobList).focus()  # keys go to the prompt while it has the focus
        await pilot.press("t")
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        await _until(pilot, lambda: len(screen.losses) == 10)
        figures = screen.query_one("#training-figures", Static)
        await _until(pilot, lambda: "step 10/10" in str(figures.render()))
        assert str(figures.render()).startswith("succeeded")
        assert list(screen.query_one(Sparkline).data or []) == screen.losses


async def test_history_and_live_events_merge_by_step_never_twice() -> None:
    from orchestrator.wire.job_view import JobView
    from orchestrator.wire.train_view import TrainingStatusView, TrainProgressView
    from orchestrator.wire.zmq_protocol import JobProgressEvent

    job = JobView(id="a" * 32, state=JobState.RUNNING, template="train_lora", seed=0,
                  created_at=1.0, kind="train", params={"name": "knight"})  # fmt: skip
    screen = TrainingScreen(job, GraphicsMode.HALFCELL)

    def event(step: int, seq: int) -> JobProgressEvent:
        report = TrainProgressView(step=step, total_steps=9, loss=1 / step)
        return JobProgressEvent(seq=seq, time=0.0, job_id=job.id, job=job, value=step, max=9,
                                train=report)  # fmt: skip

    await screen.show_event(event(3, 1), None)  # arrived before the history reply
    history = TrainingStatusView(
        job=job, name="knight", dataset_dir="/ds", base_checkpoint="/b", steps=9,
        losses=[(s, 1 / s) for s in (1, 2, 3)], latest=TrainProgressView(step=3, total_steps=9),
    )  # fmt: skip
    screen.load(history)
    await screen.show_event(event(4, 2), None)
    await screen.show_event(event(4, 3), None)  # a resumed run repeats a step
    assert screen.losses == [1 / s for s in (1, 2, 3, 4)]
    assert screen.latest is not None and screen.latest.step == 4
