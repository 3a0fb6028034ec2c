"""`dgx-pixels train run`: train a LoRA on a prepared dataset, as a job.

A thin adapter over `Service.train` and `Service.training_status`: parse the flags, queue
the run, draw one rich progress bar (step of total, loss, lr, it/s, ETA) on stderr while it
trains, and print the registered LoRA's path on stdout. With a daemon serving the data
directory the run trains there (this command only follows it, and Ctrl-C leaves it
running); without one, this command trains it, and Ctrl-C cancels it (its checkpoints stay:
`jobs retry` resumes it).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import emit_record, emit_result, fail, note, stderr_console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from orchestrator.service import Job, Service
    from orchestrator.service.train_jobs import TrainingStatus

__all__ = ["run_command"]

_POLL_S = 0.25

_RUN_HELP = """Train a LoRA on a dataset folder made by `train dataset`.

The run is a job: it is checked completely first (dataset, spec, name, base checkpoint,
time limit), queued, trained one run at a time (by the daemon when `dgx-pixels serve` runs,
else by this command), and the LoRA is registered as models/loras/NAME.safetensors with a
card (NAME.json: trigger, base model, spec, metrics). Its path is printed on stdout; a bar
on stderr shows step, loss, learning rate, it/s and the time left.

Settings come from --spec train.toml (every key optional: rank, alpha, learning_rate,
steps, batch_size, resolution, save_every_n_steps, validate_every_n_steps, ...), with
--steps on top. sd-scripts trains when DGXP_SD_SCRIPTS (or --sd-scripts, for a run this
command trains; a serving daemon uses its own setting) points at a checkout, run by its
venv's Python; otherwise the embedded trainer does, on DGXP_TRAIN_DEVICE (auto: the GPU
when there is one).

--max-hours guards the time: a run of a shape measured before (same trainer, device, base,
resolution, rank, batch) is refused when steps x measured s/step exceeds it; a running job
is stopped once its measured pace projects past it. Checkpoints are kept either way, and a
killed daemon resumes the run from the newest one when it starts again.

Examples:

\b
  dgx-pixels train run datasets/knight --name knight
  dgx-pixels train run datasets/knight --name knight --steps 1500 --max-hours 2
  dgx-pixels train run ds/ --name knight --spec train.toml --base sd_xl_base_1.0 --overwrite
  dgx-pixels train run ds/ --name knight --eval       # then report.html: base vs LoRA
  dgx-pixels train run ds/ --name knight --no-wait    # prints the job id; see `train status`
  dgx-pixels train run ds/ --name knight --sd-scripts ~/sd-scripts
"""


def run_command(
    ctx: typer.Context,
    dataset: Annotated[
        Path, typer.Argument(metavar="DATASET", help="Folder made by `train dataset`.")
    ],
    name: Annotated[
        str, typer.Option("--name", metavar="NAME", help="LoRA name: models/loras/NAME.*")
    ],
    trigger: Annotated[
        str,
        typer.Option("--trigger", metavar="WORD", help="Trigger word (default: the dataset's)."),
    ] = "",
    spec: Annotated[
        Path | None, typer.Option("--spec", metavar="FILE", help="train.toml with the knobs.")
    ] = None,
    steps: Annotated[
        int | None, typer.Option("--steps", metavar="N", help="Optimiser steps (spec: 3000).")
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", metavar="CKPT", help="Base checkpoint (default: installed one)."),
    ] = None,
    max_hours: Annotated[
        float | None,
        typer.Option("--max-hours", metavar="H", help="Refuse or stop a run projected past H."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a LoRA of that name (backed up).")
    ] = False,
    evaluate: Annotated[
        bool,
        typer.Option("--eval", help="Then evaluate it (report.html in the run folder's eval/)."),
    ] = False,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Queue it, print the job id, return.")
    ] = False,
    sd_scripts: Annotated[
        Path | None,
        typer.Option(
            "--sd-scripts",
            metavar="DIR",
            help="Train with this kohya sd-scripts checkout (DGXP_SD_SCRIPTS).",
        ),
    ] = None,
    sd_scripts_python: Annotated[
        Path | None,
        typer.Option(
            "--sd-scripts-python",
            metavar="PY",
            help="Its Python (default: DIR/venv or DIR/.venv; DGXP_SD_SCRIPTS_PYTHON).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record on stdout.")] = False,
) -> None:
    """Train a LoRA on a prepared dataset (see the examples below)."""
    from orchestrator.composition import build_service
    from orchestrator.errors import DGXPixelsError
    from orchestrator.service.train_service import TrainJobRequest

    request = TrainJobRequest(
        dataset_dir=dataset, name=name, trigger=trigger, spec_path=spec, steps=steps,
        base=base, max_hours=max_hours, overwrite=overwrite, evaluate=evaluate,
    )  # fmt: skip
    settings = settings_from(ctx)
    if sd_scripts is not None or sd_scripts_python is not None:  # this command's own trainer
        chosen = {"sd_scripts": sd_scripts, "sd_scripts_python": sd_scripts_python}
        settings = settings.model_copy(update={k: v for k, v in chosen.items() if v})
    service = build_service(settings, backends=False, claim_scope="own")
    try:
        service.start()
        try:
            job = service.train(request)
        except DGXPixelsError as exc:
            raise fail(exc, code=2) from exc
        if no_wait:
            _queued(service, job, as_json)
            return
        status = _follow(service, job)
    finally:
        service.stop()
    _report(status, as_json)


run_command.__doc__ = _RUN_HELP


def _queued(service: Service, job: Job, as_json: bool) -> None:
    where = "the daemon trains it" if not service.runs_jobs else "nobody trains it yet"
    if as_json:
        emit_record({"job_id": job.id, "state": str(job.state)})
        return
    note(
        f"queued {job.short_id} ({where}); follow it with `dgx-pixels train status {job.short_id}`"
    )
    emit_result(job.id)


def _follow(service: Service, job: Job) -> TrainingStatus:
    """Draw the bar until the job is final; Ctrl-C cancels a run this command trains."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[figures]}"))  # fmt: skip
    with Progress(*columns, console=stderr_console(), transient=False) as bar:
        task = bar.add_task(f"{job.short_id} {job.params['name']}", total=None, figures="queued")
        try:
            while True:
                status = service.training_status(job.id)
                _draw(bar, task, status)
                if status.job.state.is_terminal:
                    return status
                time.sleep(_POLL_S)
        except KeyboardInterrupt:
            if not service.runs_jobs:
                note(f"left {job.short_id} training in the daemon")
                raise
            reason = f"train run was interrupted: `dgx-pixels jobs retry {job.short_id}` resumes it"
            service.cancel(job.id, reason)
            note(f"cancelled {job.short_id}; its checkpoints stay ({reason})")
            raise


def _draw(bar: Progress, task: TaskID, status: TrainingStatus) -> None:
    latest = status.latest
    state = str(status.job.state)
    if latest is None:
        bar.update(task, figures=state)
        return
    parts = [f"loss {latest.loss:.4f}" if latest.loss is not None else "loss -"]
    parts.append(f"lr {latest.lr:.2g}")
    parts.append(f"{latest.it_per_s:.2f} it/s" if latest.it_per_s else "- it/s")
    if latest.eta_s is not None:
        parts.append(f"ETA {_clock(latest.eta_s)}")
    if latest.val_loss is not None:
        parts.append(f"val {latest.val_loss:.4f}")
    bar.update(task, total=latest.total_steps, completed=latest.step, figures=" ".join(parts))


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _report(status: TrainingStatus, as_json: bool) -> None:
    job, result = status.job, status.result
    if result is None:
        why = job.error or str(job.state)
        raise fail(f"training {job.short_id} {job.state}: {why}")
    if as_json:
        emit_record({"job_id": job.id, "state": str(job.state), **vars(result)})
        return
    loss = "-" if result.final_loss is None else f"{result.final_loss:.4f}"
    note(f"✓ {job.params['name']}: {result.steps} steps with {result.backend}, final loss {loss}")
    if result.backup_path:
        note(f"the previous LoRA is kept as {result.backup_path}")
    if result.report_path:
        note(f"evaluation report: {result.report_path}")
    emit_result(result.lora_path)
