"""What the MCP tools return besides jobs: typed, tagged pydantic messages (the MCP wire).

A job is `orchestrator.wire.job_view.JobView`, the same view the ZeroMQ protocol carries.

Everything a tool returns as structured content is one of these models, built from the
service's frozen dataclasses by the `*_view` functions, so the wire format is explicit and
does not leak internal types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from orchestrator.service import BevyProject, DeployResult
from orchestrator.wire.job_view import JobView, SpriteFilesView
from orchestrator.wire.jsonable import jsonable

__all__ = [
    "DeployView",
    "ItemList",
    "JobList",
    "LoraArg",
    "PixelizeView",
    "ProjectList",
    "ProjectView",
    "VariantArg",
    "WriteView",
    "deploy_view",
    "item_list",
    "jsonable",
    "project_list",
]


class LoraArg(BaseModel):
    """A LoRA to apply: its file name as `list_loras` shows it, and a strength."""

    name: str = Field(description="LoRA file name, e.g. 'pixel_style.safetensors'.")
    strength: float = Field(default=1.0, ge=-10.0, le=10.0, description="Weight, -10..10.")


class VariantArg(BaseModel):
    """One column of a comparison."""

    label: str | None = Field(
        default=None,
        max_length=200,
        description="Short name shown with the result, e.g. 'base' or 'lora'; default: the "
        "checkpoint and LoRA names joined with '+', or 'base'. Labels must be unique.",
    )
    checkpoint: str | None = Field(default=None, description="Checkpoint file name.")
    loras: list[LoraArg] = Field(default_factory=list, description="LoRAs for this variant.")


class JobList(BaseModel):
    """Several jobs (a comparison)."""

    type: Literal["job_list"] = "job_list"
    jobs: list[JobView]


class ItemList(BaseModel):
    """A listing (templates, models, LoRAs, palettes) as plain JSON objects."""

    type: Literal["item_list"] = "item_list"
    kind: str
    items: list[Any]


class PixelizeView(BaseModel):
    """What `pixelize_image` wrote."""

    type: Literal["pixelize"] = "pixelize"
    files: SpriteFilesView
    width: int
    height: int
    report: dict[str, Any]
    qa_warnings: list[str] = Field(
        default_factory=list,
        description="What QA flagged (fully transparent, off-palette, no clear grid); "
        "empty for a clean sprite.",
    )


class ProjectView(BaseModel):
    """A registered Bevy project."""

    type: Literal["project"] = "project"
    name: str
    root: str
    assets: str
    usable: bool
    problem: str | None = None


class ProjectList(BaseModel):
    """The registered Bevy projects."""

    type: Literal["project_list"] = "project_list"
    projects: list[ProjectView]


class WriteView(BaseModel):
    """One file a deploy wrote or would write."""

    type: Literal["write"] = "write"
    role: str
    asset: str
    path: str
    action: str
    bytes: int
    sha256: str
    backup: str | None = None


class DeployView(BaseModel):
    """The result (or, with `dry_run`, the plan) of a deploy."""

    type: Literal["deploy"] = "deploy"
    project: str
    dry_run: bool
    asset: str = Field(description="Path relative to assets/, what Bevy's AssetServer loads.")
    writes: list[WriteView]
    warnings: list[str] = Field(default_factory=list)


def item_list(kind: str, items: Sequence[Any]) -> ItemList:
    """A listing of any of the service's catalogue values."""
    return ItemList(kind=kind, items=[jsonable(i) for i in items])


def project_list(usable: Sequence[BevyProject], problems: Mapping[Path, str]) -> ProjectList:
    """Usable projects first, then registered roots that are not usable (with why)."""
    views = [
        ProjectView(name=p.name, root=str(p.root), assets=str(p.assets), usable=True)
        for p in usable
    ]
    views += [
        ProjectView(
            name=root.name, root=str(root), assets=str(root / "assets"), usable=False, problem=why
        )
        for root, why in problems.items()
    ]
    return ProjectList(projects=views)


def deploy_view(result: DeployResult) -> DeployView:
    """The wire view of a deploy result or plan."""
    writes = [
        WriteView(
            role=w.role,
            asset=w.asset,
            path=str(w.path),
            action=w.action,
            bytes=w.bytes,
            sha256=w.sha256,
            backup=str(w.backup) if w.backup else None,
        )
        for w in result.plan.writes
    ]
    sprite = next(w.asset for w in result.plan.writes if w.role == "sprite")
    return DeployView(
        project=result.plan.project.name,
        dry_run=result.dry_run,
        asset=sprite,
        writes=writes,
        warnings=list(result.plan.warnings),
    )
