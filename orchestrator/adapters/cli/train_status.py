"""`dgx-pixels train status JOB`: where a training run is, from `Service.training_status`.

Prints the job's state, its latest step, loss, lr, it/s, ETA and validation loss, how the
loss went (first, lowest, latest), and once it succeeded where its LoRA was registered (the
LoRA's path on stdout). `--json` gives the one training view every wire carries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import emit_result, fail, note

if TYPE_CHECKING:
    from orchestrator.service.train_jobs import TrainingStatus

__all__ = ["status_command"]

_STATUS_HELP = """Show a training run: state, step, loss, lr, it/s, ETA, and its LoRA.

JOB is the id `train run` printed (or its first 8 characters; `dgx-pixels jobs list`
shows them). Works while the run trains (in the daemon or another command) and after it
finished; the registered LoRA's path goes to stdout once it succeeded.

Examples:

\b
  dgx-pixels train status 1f2e3d4c
  dgx-pixels train status 1f2e3d4c --json
"""


def status_command(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="JOB", help="The training job's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record on stdout.")] = False,
) -> None:
    """Show a training run (see the examples below)."""
    from orchestrator.composition import build_service
    from orchestrator.errors import DGXPixelsError
    from orchestrator.wire.train_view import training_status_view

    service = build_service(settings_from(ctx), backends=False)
    try:
        status = service.training_status(job_id)
    except DGXPixelsError as exc:
        raise fail(exc) from exc
    finally:
        service.stop()
    if as_json:
        typer.echo(training_status_view(status).model_dump_json())
        return
    _show(status)


status_command.__doc__ = _STATUS_HELP


def _show(status: TrainingStatus) -> None:
    job, latest, result = status.job, status.latest, status.result
    note(f"{job.short_id} training {status.params.name}: {job.state}")
    if latest is not None and latest.step:
        line = f"step {latest.step}/{latest.total_steps}"
        if latest.loss is not None:
            line += f", loss {latest.loss:.4f}"
        line += f", lr {latest.lr:.2g}, {latest.it_per_s:.2f} it/s"
        if latest.eta_s is not None and not job.state.is_terminal:
            line += f", about {latest.eta_s / 60:.0f} min left"
        note(line)
    if status.losses:
        losses = status.losses
        note(f"loss: first {losses[0]:.4f}, lowest {min(losses):.4f}, latest {losses[-1]:.4f}")
    vals = [p.val_loss for p in status.history if p.val_loss is not None]
    if vals:
        note(f"validation loss: first {vals[0]:.4f}, latest {vals[-1]:.4f}")
    if job.error:
        note(f"error: {job.error}")
    if result is not None:
        emit_result(result.lora_path)
