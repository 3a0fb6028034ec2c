"""Job and catalogue tools: job_status, cancel_job and the list_* tools."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import Field

from orchestrator.adapters.mcp.args import JobId
from orchestrator.adapters.mcp.errors import client_errors
from orchestrator.adapters.mcp.results import job_result
from orchestrator.adapters.mcp.views import ItemList, item_list, jsonable
from orchestrator.service import JobState
from orchestrator.wire.job_view import JobView, job_view

if TYPE_CHECKING:
    from orchestrator.service import ModelInfo, Service

__all__ = ["register_job_tools"]


def _with_card(info: ModelInfo, cards: Mapping[str, Any]) -> dict[str, Any]:
    """A listed LoRA with its card (None: none, e.g. a downloaded LoRA); `cards` maps a
    LoRA's name to `Service.lora_cards()`'s entry."""
    item: dict[str, Any] = jsonable(info)
    found = cards.get(info.name.removesuffix(".safetensors"))
    card = found.card if found else None
    item["trigger_words"] = list(card.trigger_words) if card else []
    item["card"] = None if card is None else card.model_dump(mode="json")
    if found and found.card_error:
        item["card_error"] = found.card_error
    return item


def register_job_tools(mcp: FastMCP, service: Service) -> None:
    """Add job_status, cancel_job and the catalogue listings to `mcp`."""

    @mcp.tool
    def job_status(
        job_id: JobId,
        include_image: Annotated[
            bool, Field(description="Attach the sprite preview when the job succeeded.")
        ] = True,
    ) -> ToolResult:
        """State, progress, error and files of a job; the sprite too once it succeeded."""
        with client_errors():
            job = service.get_job(job_id)
            if include_image and job.state == JobState.SUCCEEDED:
                return job_result(service, job)
            view = job_view(job)
            text = f"job {job.id}: {job.state}" + (f" ({job.error})" if job.error else "")
            return ToolResult(content=[text], structured_content=view.model_dump(mode="json"))

    @mcp.tool
    def cancel_job(job_id: JobId) -> JobView:
        """Cancel a queued or running job (a finished job cannot be cancelled)."""
        with client_errors():
            return job_view(service.cancel(job_id))

    @mcp.tool
    def list_templates() -> ItemList:
        """Workflow templates the generation tools can use, with their parameters."""
        with client_errors():
            return item_list("templates", service.templates())

    @mcp.tool
    def list_models() -> ItemList:
        """Checkpoints the backends can load (names for `checkpoint`)."""
        with client_errors():
            return item_list("models", service.models())

    @mcp.tool
    def list_loras() -> ItemList:
        """LoRAs the backends can load (names for `loras`), each with its card when it was
        trained here: trigger words, base model, training spec and metrics."""
        with client_errors():
            cards = {lora.name: lora for lora in service.lora_cards()}
            return ItemList(kind="loras", items=[_with_card(i, cards) for i in service.loras()])

    @mcp.tool
    def list_palettes() -> ItemList:
        """Built-in palette names for `palette` (a .gpl/.hex file path works too)."""
        with client_errors():
            return item_list("palettes", service.palettes())
