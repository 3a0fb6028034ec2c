"""The frozen job record and the files a finished job produced.

Times are UNIX epoch seconds (float) so they cross every wire unchanged. Paths are strings
for the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.jobs.kinds import JobKind
from orchestrator.jobs.states import JobState

__all__ = ["Job", "JobOutputs", "JobTimings", "Lease", "SpriteFiles"]


@dataclass(frozen=True)
class SpriteFiles:
    """The files of one sprite.

    Attributes:
        sprite: True-size PNG.
        sidecar: JSON provenance next to it.
        preview: Nearest-neighbour scaled PNG, if written.
        raw: The backend's full-size render, if the graph exposed it.
        atlas: Sprite-sheet atlas JSON (Aseprite's JSON-array format), for sheet templates.
        bevy_atlas: An animation sheet's atlas for Bevy (`TextureAtlasLayout::from_grid`
            arguments, animations as index ranges, the pivot as an anchor).
        animation: An animation sheet's looping GIF preview (directions side by side).
        comparison: Side-by-side image of the compared variants (`lora_compare`).
        tiled_preview: The tile repeated 3x3, to judge its seams (`tileset`).
        qa_warnings: What the sprite's QA report flagged (fully transparent, off-palette,
            no clear grid); empty for a clean sprite.
    """

    sprite: str
    sidecar: str
    preview: str | None = None
    raw: str | None = None
    atlas: str | None = None
    comparison: str | None = None
    tiled_preview: str | None = None
    qa_warnings: tuple[str, ...] = ()
    bevy_atlas: str | None = None
    animation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "sprite": self.sprite,
            "sidecar": self.sidecar,
            "preview": self.preview,
            "raw": self.raw,
            "atlas": self.atlas,
            "comparison": self.comparison,
            "tiled_preview": self.tiled_preview,
            "qa_warnings": list(self.qa_warnings),
            "bevy_atlas": self.bevy_atlas,
            "animation": self.animation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpriteFiles:
        """Inverse of `to_dict`; raises `KeyError`/`TypeError` on a malformed record."""
        sprite = data["sprite"]
        sidecar = data["sidecar"]
        if not isinstance(sprite, str) or not isinstance(sidecar, str):
            raise TypeError(f"sprite/sidecar must be strings, got {sprite!r}, {sidecar!r}")
        return cls(
            sprite=sprite,
            sidecar=sidecar,
            preview=_opt_str(data.get("preview")),
            raw=_opt_str(data.get("raw")),
            atlas=_opt_str(data.get("atlas")),
            comparison=_opt_str(data.get("comparison")),
            tiled_preview=_opt_str(data.get("tiled_preview")),
            qa_warnings=_warnings(data.get("qa_warnings", [])),
            # rows stored before animation sheets have neither key
            bevy_atlas=_opt_str(data.get("bevy_atlas")),
            animation=_opt_str(data.get("animation")),
        )


def _warnings(value: object) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise TypeError(f"qa_warnings must be a list of strings, got {value!r}")


def _opt_str(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"expected a path string or null, got {value!r}")


@dataclass(frozen=True)
class JobOutputs:
    """Everything a job wrote. `sprite`/`preview`/`raw`/`sidecar`/`atlas` are the first
    sprite's files (most jobs make one); `sprites` lists them all."""

    job_id: str
    sprites: tuple[SpriteFiles, ...]

    @property
    def sprite(self) -> str | None:
        return self.sprites[0].sprite if self.sprites else None

    @property
    def preview(self) -> str | None:
        return self.sprites[0].preview if self.sprites else None

    @property
    def raw(self) -> str | None:
        return self.sprites[0].raw if self.sprites else None

    @property
    def sidecar(self) -> str | None:
        return self.sprites[0].sidecar if self.sprites else None

    @property
    def atlas(self) -> str | None:
        return self.sprites[0].atlas if self.sprites else None

    @property
    def comparison(self) -> str | None:
        return self.sprites[0].comparison if self.sprites else None

    @property
    def tiled_preview(self) -> str | None:
        return self.sprites[0].tiled_preview if self.sprites else None


@dataclass(frozen=True)
class JobTimings:
    """Epoch seconds of each milestone; None until reached."""

    created_at: float
    submitted_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None


@dataclass(frozen=True)
class Lease:
    """Who follows an in-flight job, and until when (epoch seconds) unless renewed.

    Attributes:
        owner: The following process's lease id (`host:pid:random`).
        expires_at: After this, another process may take the job over.
    """

    owner: str
    expires_at: float


@dataclass(frozen=True)
class Job:
    """One unit of work: a template rendered with parameters, run once on one backend.

    Attributes:
        id: 32-hex job id.
        state: Where it is in its life (see `orchestrator.jobs.states`).
        template: Workflow template name.
        params: Template parameters as submitted (JSON-able; treat as read-only).
        seed: The seed actually used.
        backend: URL of the backend it was sent to (last attempt).
        prompt_id: The backend's prompt id (last attempt).
        created_at: When it was submitted to the service.
        started_at: When the backend started running it.
        finished_at: When it reached a final state.
        error: Why it failed or was cancelled.
        outputs: True-size sprite PNG paths, in order.
        progress: (value, max) of the running sampler.
        submitted_at: When it was sent to a backend.
        attempts: How many times it was sent to a backend.
        retryable: Whether the last failure may succeed on retry.
        hashes: Model and LoRA file name -> sha256 ("" when not computable).
        files: Every file per sprite (preview, raw, sidecar …).
        batch_id: Jobs submitted together share it.
        worker: Worker that holds it while it is in flight.
        pinned_backend: The backend URL the caller asked for, if any.
        preferred_backends: Backend URLs the caller asked for (run on one of them); a
            process that runs the job adds them to its pool.
        out_dir: Absolute folder the job's files go to, whichever process runs it.
        lease: Who follows it while in flight (None: nobody holds it).
        kind: What it does: render a template on a backend, or train a LoRA.
    """

    id: str
    state: JobState
    template: str
    params: Mapping[str, Any]
    seed: int
    backend: str | None
    prompt_id: str | None
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    outputs: tuple[str, ...] = ()
    progress: tuple[int, int] = (0, 0)
    submitted_at: float | None = None
    attempts: int = 0
    retryable: bool = False
    hashes: Mapping[str, str] = field(default_factory=dict)
    files: tuple[SpriteFiles, ...] = ()
    batch_id: str | None = None
    worker: str | None = None
    pinned_backend: str | None = None
    preferred_backends: tuple[str, ...] = ()
    out_dir: str | None = None
    lease: Lease | None = None
    kind: JobKind = JobKind.GENERATE

    @property
    def wanted_backends(self) -> tuple[str, ...]:
        """The backends it must run on: the pin, else the preference (empty: any)."""
        return (self.pinned_backend,) if self.pinned_backend else self.preferred_backends

    @property
    def prompt(self) -> str:
        """The text prompt, if the parameters carry one."""
        value = self.params.get("prompt", "")
        return value if isinstance(value, str) else str(value)

    @property
    def timings(self) -> JobTimings:
        """The milestones as one value."""
        return JobTimings(self.created_at, self.submitted_at, self.started_at, self.finished_at)

    @property
    def qa_warnings(self) -> tuple[str, ...]:
        """Every sprite's QA warnings, each once (empty: a clean success)."""
        return tuple(dict.fromkeys(w for files in self.files for w in files.qa_warnings))

    @property
    def short_id(self) -> str:
        """First 8 characters: what file names and tables show."""
        return self.id[:8]
