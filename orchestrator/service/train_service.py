"""The `train` use cases: check and queue a LoRA training run, read a run's status.

A request is checked completely before anything is stored: the dataset folder holds a
`manifest.json`, the spec (a `train.toml`, or the defaults) with `--steps` applied is valid,
the LoRA name is free (or `overwrite`), no other queued or running job trains that name,
the base checkpoint exists, and the time guard's projection (from an earlier run of the
same shape, when there is one) fits `max_hours`. Each refusal is an `InvalidRequest`
naming the field and value. Nothing is written under `models/loras/` until a run succeeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.errors import InvalidRequest
from orchestrator.jobs.kinds import JobKind
from orchestrator.jobs.models import Job
from orchestrator.jobs.store import JobStore, NewJob
from orchestrator.service.catalog import Catalog
from orchestrator.service.remote_paths import Origin
from orchestrator.service.train_guard import RunShape, projection_refusal
from orchestrator.service.train_jobs import (
    TRAIN_TEMPLATE,
    TrainingStatus,
    TrainParams,
    read_progress,
    read_result,
    work_dir_for,
)
from orchestrator.service.train_parts import TrainingParts
from orchestrator.settings import Settings
from training.errors import TrainingError
from training.spec import TrainingSpec

__all__ = ["TrainJobRequest", "check_remote", "new_train_job", "training_status"]

_MAX_HOURS_CAP = 24 * 30  # a month: anything longer is a typo


@dataclass(frozen=True)
class TrainJobRequest:
    """What a caller asks for when training a LoRA.

    Attributes:
        dataset_dir: A folder written by `dgx-pixels train dataset`.
        name: The LoRA's name (`models/loras/<name>.safetensors`).
        trigger: The trigger word; empty: the dataset's.
        spec_path: A `train.toml`; None: the defaults.
        steps: Overrides the spec's `steps`.
        base: The SDXL checkpoint (a file name under `models/checkpoints/`, or a path);
            None: the first installed one (a real model before the demo model).
        max_hours: The time guard's limit; None: none.
        overwrite: Replace an existing LoRA of that name (it is backed up first).
        evaluate: Evaluate the LoRA after a successful run (when evaluation is installed).
    """

    dataset_dir: Path
    name: str
    trigger: str = ""
    spec_path: Path | None = None
    steps: int | None = None
    base: str | None = None
    max_hours: float | None = None
    overwrite: bool = False
    evaluate: bool = False


def _refused(exc: TrainingError) -> InvalidRequest:
    return InvalidRequest(exc.field, exc.value, exc.reason)


def _dataset(path: Path) -> tuple[Path, str]:
    """The absolute dataset folder and the trigger word its manifest records."""
    folder = Path(path).expanduser().absolute()
    manifest = folder / "manifest.json"
    if not folder.is_dir():
        raise InvalidRequest(
            "dataset", str(path), "is not a folder; make one with `dgx-pixels train dataset`"
        )
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidRequest(
            "dataset",
            str(path),
            "has no manifest.json, so it is not a prepared dataset; run `dgx-pixels train "
            "dataset SRC -o DIR --trigger WORD` on your sprites first",
        ) from exc
    except (OSError, ValueError) as exc:
        raise InvalidRequest("dataset", str(path), f"manifest.json is unreadable ({exc})") from exc
    trigger = data.get("trigger", "") if isinstance(data, dict) else ""
    return folder, trigger if isinstance(trigger, str) else ""


def _spec(request: TrainJobRequest) -> TrainingSpec:
    from training.spec import TrainingSpec, load_spec, spec_from_mapping

    try:
        spec = load_spec(request.spec_path) if request.spec_path else TrainingSpec()
        if request.steps is not None:
            values = {**spec.model_dump(), "steps": request.steps}
            spec = spec_from_mapping(values, "--steps")
    except TrainingError as exc:
        raise _refused(exc) from exc
    return spec


def _base(request: TrainJobRequest, catalog: Catalog) -> Path:
    """The base checkpoint as an absolute path."""
    folder = catalog.settings.resolved_models_dir / "checkpoints"
    if request.base is None:
        installed = catalog.local_models("checkpoints")
        if not installed:
            raise InvalidRequest(
                "base",
                None,
                f"no checkpoint is installed in {folder}; pass --base FILE, or run "
                "`dgx-pixels models demo` for the tiny demo model",
            )
        chosen = sorted(installed, key=lambda m: (m.demo, m.name))[0]
        return (folder / chosen.name).absolute()
    given = Path(request.base).expanduser()
    candidates = [given, folder / request.base, folder / f"{request.base}.safetensors"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.absolute()
    raise InvalidRequest(
        "base",
        request.base,
        f"no such checkpoint (looked for the path and in {folder}); `dgx-pixels models list` "
        "shows the installed ones",
    )


def _check_limits(request: TrainJobRequest) -> None:
    if request.max_hours is not None and not 0 < request.max_hours <= _MAX_HOURS_CAP:
        raise InvalidRequest(
            "max_hours", request.max_hours, f"must be more than 0 and at most {_MAX_HOURS_CAP}"
        )


def _check_not_training(store: JobStore, name: str) -> None:
    """Refuse a second queued or running job training the same LoRA name."""
    for job in store.list_jobs(limit=10_000):
        if job.kind is JobKind.TRAIN and not job.state.is_terminal and job.params["name"] == name:
            raise InvalidRequest(
                "name",
                name,
                f"job {job.short_id} is already training a LoRA of that name ({job.state}); "
                f"wait for it or cancel it (`dgx-pixels jobs cancel {job.short_id}`)",
            )


def _trainer_name(parts: TrainingParts) -> str:
    """The trainer that will run it, chosen now so a configured but unusable sd-scripts
    checkout is refused before anything is queued."""
    try:
        return parts.choose_trainer().name
    except TrainingError as exc:
        raise _refused(exc) from exc


def _check_time_guard(params: TrainParams, parts: TrainingParts, trainer: str) -> None:
    if params.max_hours is None:
        return
    device = parts.resolved_device()
    shape = RunShape.of(trainer, device, params.base_checkpoint, params.spec)
    measured = parts.speeds.seconds_per_step(shape)
    if measured is None:
        return
    refusal = projection_refusal(params.max_hours, params.spec.steps, measured, shape)
    if refusal is not None:
        raise InvalidRequest("max_hours", params.max_hours, refusal)


def check_remote(request: TrainJobRequest, settings: Settings) -> None:
    """What a remote caller (ZMQ, MCP) may name: a dataset folder under the data dir or the
    outputs folder, a base checkpoint by file name, no spec file. Checked before any path
    is looked at, so a refusal says nothing about what exists elsewhere.

    Raises:
        InvalidRequest: naming the field, the value and what is allowed.
    """
    roots = (settings.data_dir, settings.resolved_output_dir)
    folder = Path(request.dataset_dir).expanduser()
    real = (folder if folder.is_absolute() else settings.data_dir / folder).resolve()
    if not any(real.is_relative_to(root.resolve()) for root in roots):
        where = " or ".join(str(root) for root in roots)
        raise InvalidRequest(
            "dataset",
            str(request.dataset_dir),
            f"remote clients may only name dataset folders under {where}; make it there with "
            f"`dgx-pixels train dataset SRC -o {settings.data_dir / 'datasets' / 'NAME'}`",
        )
    if request.base is not None and Path(request.base).name != request.base:
        raise InvalidRequest(
            "base", request.base, "remote clients name a checkpoint by its file name only"
        )
    if request.spec_path is not None:
        raise InvalidRequest(
            "spec", str(request.spec_path), "remote clients cannot name a spec file; give steps"
        )


def new_train_job(
    request: TrainJobRequest,
    store: JobStore,
    catalog: Catalog,
    parts: TrainingParts,
    origin: Origin = "local",
) -> NewJob:
    """Check `request` completely and return the job to queue (nothing is stored here).

    Raises:
        InvalidRequest: A field is refused (named with its value and what to do).
    """
    if origin == "remote":
        check_remote(request, catalog.settings)
        folder = Path(request.dataset_dir).expanduser()
        if not folder.is_absolute():
            request = replace(request, dataset_dir=catalog.settings.data_dir / folder)
    _check_limits(request)
    dataset_dir, dataset_trigger = _dataset(request.dataset_dir)
    spec = _spec(request)
    try:
        parts.registry.check_name(request.name, request.overwrite)
    except TrainingError as exc:
        raise _refused(exc) from exc
    _check_not_training(store, request.name)
    params = TrainParams(
        name=request.name,
        dataset_dir=dataset_dir,
        base_checkpoint=_base(request, catalog),
        spec=spec,
        trigger=request.trigger or dataset_trigger,
        overwrite=request.overwrite,
        max_hours=request.max_hours,
        evaluate=request.evaluate,
    )
    _check_time_guard(params, parts, _trainer_name(parts))
    return NewJob(TRAIN_TEMPLATE, params.to_params(), spec.seed, kind=JobKind.TRAIN)


def training_status(job: Job, data_dir: Path) -> TrainingStatus:
    """The job with its run folder's progress log and result.

    Raises:
        InvalidRequest: The job is not a training job.
    """
    if job.kind is not JobKind.TRAIN:
        raise InvalidRequest(
            "job_id", job.id, f"is a {job.kind} job, not a training run; use `jobs show`"
        )
    work_dir = work_dir_for(data_dir, job.id)
    return TrainingStatus(
        job=job,
        params=TrainParams.from_params(job.params),
        work_dir=work_dir,
        history=read_progress(work_dir),
        result=read_result(work_dir),
    )
