"""The one view of a job on every wire: ZeroMQ replies and events, MCP tool results.

`state` is typed by `orchestrator.jobs.states.JobState`, so a new state reaches every
client and schema without a second list. Field names are the ZeroMQ protocol's
(`docs/zmq-protocol.md`, "Job"); `type`, `files`, `label` and `kind` are optional additions
that old clients ignore.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Literal, Protocol, get_args

from pydantic import Field

from orchestrator.jobs.kinds import JobKind
from orchestrator.jobs.states import JobState
from orchestrator.wire.model import WireModel

__all__ = [
    "IMAGE_FILES",
    "ImageFile",
    "JobView",
    "OutputsLike",
    "SpriteFilesView",
    "files_view",
    "job_view",
]

ImageFile = Literal["sprite", "preview", "raw", "comparison", "tiled_preview", "animation"]
"""The image files of one sprite a client can fetch (`get_output`'s `file`), each named
by its `SpriteFilesView` field: a sheet's looping GIF is `animation`, a tileset's 3x3
repeat or an autotile set's random map is `tiled_preview`."""
IMAGE_FILES: Final[tuple[ImageFile, ...]] = get_args(ImageFile)


class SpriteFilesView(WireModel):
    """Files of one generated sprite (absolute paths on the server's machine)."""

    type: Literal["sprite_files"] = "sprite_files"
    sprite: str
    sidecar: str
    preview: str | None = None
    raw: str | None = None
    atlas: str | None = None
    comparison: str | None = None
    tiled_preview: str | None = None  # a tileset's tile repeated 3x3
    bevy_atlas: str | None = None  # an animation sheet's atlas for Bevy's TextureAtlasLayout
    animation: str | None = None  # an animation sheet's looping GIF preview
    qa_warnings: list[str] = Field(default_factory=list)  # empty: a clean sprite


class JobView(WireModel):
    """A job as every reply, event and tool result carries it (times are epoch seconds)."""

    type: Literal["job"] = "job"
    id: str
    state: JobState
    template: str
    prompt: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int
    backend: str | None = None
    prompt_id: str | None = None
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    outputs: list[str] = Field(default_factory=list)
    files: list[SpriteFilesView] = Field(default_factory=list)
    progress: tuple[int, int] = (0, 0)
    attempts: int = 0
    retryable: bool = False
    batch_id: str | None = None
    label: str | None = Field(default=None, description="Variant label in a comparison.")
    qa_warnings: list[str] = Field(
        default_factory=list,
        description="What QA flagged in its sprites (fully transparent, off-palette, no "
        "clear grid); a succeeded job with warnings is not a clean success.",
    )
    kind: JobKind = Field(
        default=JobKind.GENERATE,
        description="generate (a template on a backend) or train (a LoRA training run).",
    )


class OutputsLike(Protocol):
    """What `job_view` needs of `JobOutputs`: every sprite's files."""

    @property
    def sprites(self) -> Sequence[object]: ...


def files_view(files: object) -> SpriteFilesView:
    """The wire view of one sprite's files (any object with `SpriteFiles`' attributes)."""
    return SpriteFilesView.model_validate(files, from_attributes=True)


def job_view(job: object, outputs: OutputsLike | None = None, label: str | None = None) -> JobView:
    """The wire view of a job (any object with `Job`'s attributes).

    Args:
        job: The job; each view field is read from the attribute of the same name.
        outputs: Every file the job made (else the files on the job's own record).
        label: Its variant label, in a comparison.
    """
    view = JobView.model_validate(job, from_attributes=True)
    update: dict[str, Any] = {"label": label}
    if outputs is not None:
        update["files"] = [files_view(f) for f in outputs.sprites]
    return view.model_copy(update=update)
