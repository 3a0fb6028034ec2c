"""Training tools: train_lora queues a LoRA training run, training_status follows it.

Thin: the request goes to `Service.train` (checked completely before anything is stored),
the status comes from `Service.training_status`, and both come back as the one training
view every wire carries (`orchestrator.wire.train_view`). A run takes minutes to hours, so
`train_lora` returns once the run is queued; cancel it with `cancel_job`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import Field

from orchestrator.adapters.mcp.args import JobId
from orchestrator.adapters.mcp.errors import client_errors
from orchestrator.service.train_service import TrainJobRequest
from orchestrator.wire.train_view import TrainingStatusView, training_status_view

if TYPE_CHECKING:
    from orchestrator.service import Service

__all__ = ["register_train_tools", "status_line"]


def status_line(view: TrainingStatusView) -> str:
    """One line a person reads: state, step, loss, ETA, or where the LoRA went."""
    job, latest = view.job, view.latest
    line = f"training {view.name} (job {job.id[:8]}): {job.state}"
    if latest is not None and latest.step:
        line += f", step {latest.step}/{latest.total_steps}"
        if latest.loss is not None:
            line += f", loss {latest.loss:.4f}"
        if latest.eta_s is not None and not job.state.is_terminal:
            line += f", about {latest.eta_s / 60:.0f} min left"
    if view.result is not None:
        line += f"; LoRA registered at {view.result.lora_path}"
    elif job.error:
        line += f" ({job.error})"
    return line


def register_train_tools(mcp: FastMCP, service: Service) -> None:
    """Add train_lora and training_status to `mcp`."""

    @mcp.tool
    def train_lora(
        dataset_dir: Annotated[
            str, Field(description="A folder made by `dgx-pixels train dataset`.")
        ],
        name: Annotated[
            str, Field(description="The LoRA's name: models/loras/<name>.safetensors.")
        ],
        trigger: Annotated[
            str, Field(description="Trigger word; empty: the dataset's.", max_length=100)
        ] = "",
        steps: Annotated[
            int | None, Field(description="Optimiser steps (default 3000).", ge=1)
        ] = None,
        base: Annotated[
            str | None,
            Field(description="Base checkpoint file name (list_models); default: installed."),
        ] = None,
        max_hours: Annotated[
            float | None,
            Field(description="Refuse or stop a run projected to take longer.", gt=0),
        ] = None,
        overwrite: Annotated[
            bool, Field(description="Replace a LoRA of that name (the old one is backed up).")
        ] = False,
        evaluate: Annotated[
            bool, Field(description="Then evaluate it against the base model (report.html).")
        ] = False,
    ) -> ToolResult:
        """Train a pixel-art style LoRA on a prepared dataset; returns once it is queued.

        Follow it with training_status (step, loss, ETA, loss curve); when it succeeded the
        LoRA is in list_loras with its card and trigger words, ready for generate_sprite.
        """
        with client_errors():
            job = service.train(
                TrainJobRequest(
                    dataset_dir=Path(dataset_dir), name=name, trigger=trigger, steps=steps,
                    base=base, max_hours=max_hours, overwrite=overwrite, evaluate=evaluate,
                ),
                origin="remote",
            )  # fmt: skip
            view = training_status_view(service.training_status(job.id))
        return ToolResult(
            content=[status_line(view) + "; follow it with training_status"],
            structured_content=view.model_dump(mode="json"),
        )

    @mcp.tool
    def training_status(job_id: JobId) -> ToolResult:
        """A training run: state, latest step, loss, lr, it/s, ETA, the loss curve, samples,
        and where the LoRA was registered once it succeeded."""
        with client_errors():
            view = training_status_view(service.training_status(job_id))
        return ToolResult(
            content=[status_line(view)], structured_content=view.model_dump(mode="json")
        )
