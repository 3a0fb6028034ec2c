"""Training as a job: queue, run on the trainer thread, register; refusals; cancel; time guard."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from train_testkit import StepTrainer, dataset_dir, train_service

from orchestrator.composition import build_service
from orchestrator.errors import InvalidRequest
from orchestrator.jobs import JobKind, JobState
from orchestrator.service import JobEvent, JobEventKind, Service
from orchestrator.service.train_guard import RunShape
from orchestrator.service.train_service import TrainJobRequest
from orchestrator.settings import Settings
from training.spec import TrainingSpec

MakeTrainService = Callable[..., Service]


@pytest.fixture
def make_train_service(tmp_path: Path, tiny_models: Path) -> Iterator[MakeTrainService]:
    services: list[Service] = []

    def make(trainer: StepTrainer, *, start: bool = True, **fields: object) -> Service:
        service = train_service(tiny_models, tmp_path / "data", trainer, **fields)
        services.append(service)
        return service.start() if start else service

    yield make
    for service in services:
        service.stop()


def _request(tmp_path: Path, **fields: object) -> TrainJobRequest:
    values: dict[str, object] = {"dataset_dir": dataset_dir(tmp_path / "ds"), "name": "knight"}
    values.update(fields)
    return TrainJobRequest(**values)  # type: ignore[arg-type]


def _spec_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "train.toml"
    path.write_text(text)
    return path


def test_a_train_job_runs_registers_the_lora_and_reports_progress(
    tmp_path: Path, make_train_service: MakeTrainService, tiny_models: Path
) -> None:
    service = make_train_service(StepTrainer())
    events: list[JobEvent] = []
    service.subscribe(events.append)
    spec = _spec_file(tmp_path, "steps = 6\nsave_every_n_steps = 2\nvalidate_every_n_steps = 3\n")
    job = service.train(_request(tmp_path, spec_path=spec))
    assert (job.kind, job.state, job.template) == (JobKind.TRAIN, JobState.QUEUED, "train_lora")
    done = service.wait(job.id, timeout_s=60)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.progress == (6, 6)
    status = service.training_status(job.id)
    assert status.result is not None
    assert status.result.lora_path == str(tiny_models / "loras" / "knight.safetensors")
    assert Path(status.result.lora_path).is_file()
    card = json.loads((tiny_models / "loras" / "knight.json").read_text())
    assert card["trigger_words"] == ["pxlknight"]  # the dataset's trigger
    assert (card["backend"], card["spec"]["steps"]) == ("steps", 6)
    assert [p.step for p in status.history] == [1, 2, 3, 4, 5, 6]
    assert status.losses == pytest.approx([1 / s for s in range(1, 7)])
    assert [p.step for p in status.history if p.val_loss is not None] == [3, 6]
    progress = [e for e in events if e.kind is JobEventKind.PROGRESS and e.job_id == job.id]
    assert [e.train.step for e in progress if e.train] == [1, 2, 3, 4, 5, 6]
    assert [e.value for e in progress] == [1, 2, 3, 4, 5, 6]
    kinds = [e.kind for e in events if e.job_id == job.id and e.kind is not JobEventKind.PROGRESS]
    assert kinds == [JobEventKind.QUEUED, JobEventKind.STARTED, JobEventKind.SUCCEEDED]


def test_unknown_dataset_folder_is_refused_and_nothing_is_queued(
    tmp_path: Path, make_train_service: MakeTrainService
) -> None:
    service = make_train_service(StepTrainer(), start=False)
    with pytest.raises(InvalidRequest, match=r"dataset='.*nowhere': is not a folder"):
        service.train(_request(tmp_path, dataset_dir=tmp_path / "nowhere"))
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(InvalidRequest, match=r"has no manifest\.json.*train dataset"):
        service.train(_request(tmp_path, dataset_dir=plain))
    assert service.store.count() == 0


@pytest.mark.parametrize(
    ("spec_text", "steps", "match"),
    [
        ("stepz = 5\n", None, "stepz=5: unknown key in train.toml"),
        ("rank = 0\n", None, "rank=0: Input should be greater than or equal to 1"),
        ("rank = [\n", None, "is not valid TOML"),
        ("", 0, "steps=0: Input should be greater than or equal to 1 \\(in --steps\\)"),
    ],
)
def test_bad_spec_or_steps_is_refused_naming_the_key(
    tmp_path: Path,
    make_train_service: MakeTrainService,
    spec_text: str,
    steps: int | None,
    match: str,
) -> None:
    service = make_train_service(StepTrainer(), start=False)
    spec = _spec_file(tmp_path, spec_text)
    with pytest.raises(InvalidRequest, match=match):
        service.train(_request(tmp_path, spec_path=spec, steps=steps))
    assert service.store.count() == 0


def test_name_collision_without_overwrite_is_refused_and_models_loras_untouched(
    tmp_path: Path, make_train_service: MakeTrainService, tiny_models: Path
) -> None:
    loras = tiny_models / "loras"
    loras.mkdir()
    (loras / "knight.safetensors").write_bytes(b"old lora")
    before = sorted(p.name for p in loras.iterdir())
    service = make_train_service(StepTrainer(), start=False)
    with pytest.raises(
        InvalidRequest, match=r"name='knight':.*knight.safetensors exists.*--overwrite"
    ):
        service.train(_request(tmp_path))
    for bad in ("../evil", "", "knight.safetensors"):
        with pytest.raises(InvalidRequest, match="name="):
            service.train(_request(tmp_path, name=bad))
    assert sorted(p.name for p in loras.iterdir()) == before
    assert (loras / "knight.safetensors").read_bytes() == b"old lora"
    assert service.store.count() == 0


def test_overwrite_replaces_the_lora_and_keeps_a_backup(
    tmp_path: Path, make_train_service: MakeTrainService, tiny_models: Path
) -> None:
    loras = tiny_models / "loras"
    loras.mkdir()
    (loras / "knight.safetensors").write_bytes(b"old lora")
    service = make_train_service(StepTrainer())
    job = service.train(_request(tmp_path, steps=2, overwrite=True))
    assert service.wait(job.id, 60).state is JobState.SUCCEEDED
    result = service.training_status(job.id).result
    assert result is not None and result.backup_path is not None
    assert Path(result.backup_path).read_bytes() == b"old lora"
    assert (loras / "knight.safetensors").read_bytes() != b"old lora"


def test_a_second_run_of_a_name_already_training_is_refused(
    tmp_path: Path, make_train_service: MakeTrainService
) -> None:
    service = make_train_service(StepTrainer(), start=False)
    first = service.train(_request(tmp_path))
    with pytest.raises(InvalidRequest, match=f"job {first.short_id} is already training"):
        service.train(_request(tmp_path))
    assert service.store.count() == 1


def test_missing_base_checkpoint_is_refused(
    tmp_path: Path, make_train_service: MakeTrainService
) -> None:
    service = make_train_service(StepTrainer(), start=False)
    with pytest.raises(InvalidRequest, match="base='nope': no such checkpoint"):
        service.train(_request(tmp_path, base="nope"))


def test_cancel_mid_run_stops_the_trainer_and_registers_nothing(
    tmp_path: Path, make_train_service: MakeTrainService, tiny_models: Path
) -> None:
    service = make_train_service(StepTrainer(step_s=0.05))
    job = service.train(_request(tmp_path, steps=2000))
    deadline = time.monotonic() + 30
    while service.get_job(job.id).progress[0] < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    cancelled = service.cancel(job.id)
    assert cancelled.state is JobState.CANCELLED
    time.sleep(0.3)  # the trainer stops at its next step
    step = service.training_status(job.id).latest
    assert step is not None and step.step < 2000
    assert service.get_job(job.id).state is JobState.CANCELLED
    assert not (tiny_models / "loras").exists()
    # the trainer thread serves the next run
    again = service.train(_request(tmp_path, name="knight2", steps=2))
    assert service.wait(again.id, 60).state is JobState.SUCCEEDED


def test_time_guard_stops_a_run_projected_past_max_hours_then_refuses_the_next(
    tmp_path: Path, make_train_service: MakeTrainService
) -> None:
    # 10 steps/s reported while each step takes 10 ms: the rate says 1000 steps take 100 s,
    # over a 36 s limit (0.01 h).
    trainer = StepTrainer(step_s=0.01, it_per_s=10.0)
    service = make_train_service(trainer)
    job = service.train(_request(tmp_path, steps=1000, max_hours=0.01))
    failed = service.wait(job.id, 60)
    assert failed.state is JobState.FAILED
    assert failed.error is not None
    assert "time guard: projected" in failed.error and "exceeds --max-hours 0.01" in failed.error
    assert "0.1 s/step measured" in failed.error
    stopped_at = service.training_status(job.id).latest
    assert stopped_at is not None and stopped_at.step < 10
    # measured now: the same shape is refused before it is queued, with the numbers
    with pytest.raises(
        InvalidRequest, match=r"max_hours=0.01: projected 0.03 h \(1000 steps x 0.1 s/step"
    ):
        service.train(_request(tmp_path, name="knight3", steps=1000, max_hours=0.01))
    ok = service.train(_request(tmp_path, name="knight4", steps=100, max_hours=0.01))
    assert ok.state is JobState.QUEUED


def test_training_status_of_a_generate_job_is_refused(
    tmp_path: Path, make_train_service: MakeTrainService
) -> None:
    from orchestrator.jobs import NewJob

    service = make_train_service(StepTrainer(), start=False)
    (job,) = service.store.create([NewJob("single_sprite", {"prompt": "p"}, 1)])
    with pytest.raises(InvalidRequest, match="is a generate job, not a training run"):
        service.training_status(job.id)


def test_run_shape_key_names_everything_a_step_time_depends_on() -> None:
    shape = RunShape.of("embedded", "cuda", Path("/m/sdxl.safetensors"), TrainingSpec(rank=16))
    assert shape.key == "embedded|cuda|sdxl.safetensors|1024px|rank 16|batch 1"


def test_an_unexpected_error_in_the_trainer_thread_is_logged_and_it_keeps_serving(
    tmp_path: Path,
    make_train_service: MakeTrainService,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = make_train_service(StepTrainer(), start=False)
    real = service.store.claim_next_queued
    calls: list[object] = []

    def broken_once(*args: object, **kwargs: object) -> object:
        if kwargs.get("kind") is JobKind.TRAIN:  # the trainer's claims only
            calls.append(kwargs["kind"])
            if len(calls) == 1:
                raise RuntimeError("a bug in claiming")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service.store, "claim_next_queued", broken_once)
    caplog.set_level(logging.ERROR, logger="orchestrator.service.train_worker")
    job = service.train(_request(tmp_path, steps=2))
    service.start()
    assert service.wait(job.id, 60).state is JobState.SUCCEEDED
    assert len(calls) >= 2  # the broken claim, then the one that ran it
    (record,) = [r for r in caplog.records if "still serving" in r.getMessage()]
    assert record.exc_info is not None and "a bug in claiming" in str(record.exc_info[1])


def test_an_unusable_sd_scripts_checkout_is_refused_before_anything_is_queued(
    tmp_path: Path, tiny_models: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", models_dir=tiny_models, sd_scripts=tmp_path / "no"
    )
    service = build_service(settings, backends=False)  # the settings' own trainer choice
    try:
        with pytest.raises(InvalidRequest, match=r"sd_scripts.*no"):
            service.train(_request(tmp_path))
        assert service.store.count() == 0
    finally:
        service.stop()


def test_a_stopped_service_leaves_the_run_running_and_the_next_one_resumes_it(
    tmp_path: Path, make_train_service: MakeTrainService
) -> None:
    from train_testkit import latest_checkpoint

    from orchestrator.service.train_jobs import read_result, work_dir_for

    first = make_train_service(StepTrainer(step_s=0.02))
    job = first.train(
        _request(tmp_path, spec_path=_spec_file(tmp_path, "steps = 400\nsave_every_n_steps = 5\n"))
    )
    work_dir = work_dir_for(first.settings.data_dir, job.id)
    deadline = time.monotonic() + 30
    while latest_checkpoint(work_dir) < 10:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first.stop()  # SIGTERM's path: the run stops at its next step, its lease ends at once
    assert first.store.path.exists()
    second = make_train_service(StepTrainer())
    done = second.wait(job.id, 60)
    assert done.state is JobState.SUCCEEDED, done.error
    result = read_result(work_dir)
    assert result is not None and 10 <= result.resumed_from < 400


def test_a_torn_or_damaged_progress_line_is_skipped_not_fatal(tmp_path: Path) -> None:
    from orchestrator.service.train_jobs import append_progress, read_progress
    from training.backend import TrainProgress

    append_progress(tmp_path, TrainProgress(step=1, total_steps=3, loss=0.5))
    with (tmp_path / "progress.jsonl").open("a") as log:
        log.write('{"step": 2, "total_steps": 3, "loss": "high"}\n{"step": 3, "tot')  # kill -9
    append_progress(tmp_path, TrainProgress(step=2, total_steps=3, loss=0.4))
    assert [(p.step, p.loss) for p in read_progress(tmp_path)] == [(1, 0.5), (2, 0.4)]


def test_a_run_left_submitted_by_a_dead_process_is_taken_over_and_run(
    tmp_path: Path, make_train_service: MakeTrainService
) -> None:
    from orchestrator.jobs import Lease

    service = make_train_service(StepTrainer(), start=False, lease_s=1.0, heartbeat_s=0.2)
    job = service.train(_request(tmp_path, steps=3))
    # A process claimed and recorded it, then died before it started training.
    claimed = service.store.claim_next_queued("dead", kind=JobKind.TRAIN, lease=Lease("dead", 1.0))
    assert claimed is not None
    service.store.mark_submitted(job.id, "p", "trainer:steps", Lease("dead", 1.0))
    service.start()
    done = service.wait(job.id, 60)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.attempts == 1


def test_a_cancel_from_another_process_stops_the_run_within_a_second_or_so(
    tmp_path: Path, make_train_service: MakeTrainService
) -> None:
    service = make_train_service(StepTrainer(step_s=0.02))
    job = service.train(_request(tmp_path, steps=5000))
    deadline = time.monotonic() + 30
    while service.get_job(job.id).progress[0] < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # `dgx-pixels jobs cancel` from a shell: its own service on the same data dir.
    other = build_service(service.settings, backends=False)
    try:
        other.cancel(job.id)
    finally:
        other.stop()
    stopped_by = time.monotonic() + 10
    step = service.training_status(job.id).history[-1].step
    while True:  # no new step once the trainer has seen the cancel in the store
        time.sleep(0.3)
        now = service.training_status(job.id).history[-1].step
        if now == step:
            break
        step = now
        assert time.monotonic() < stopped_by, "the run kept training after the cancel"
    assert service.get_job(job.id).state is JobState.CANCELLED
    assert step < 5000
