"""`assets/generated/manifest.json`: where each deployed asset came from.

The manifest is a typed document (`type` tag + version). Reading is forgiving: a file that
is not JSON, or entries that do not validate, are reported as warnings, the original file
is kept as a backup by the caller, and every entry that still validates is carried over,
so no entry is ever dropped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.deploy.nofollow import read_nofollow

__all__ = [
    "MANIFEST_NAME",
    "LoraRecord",
    "Manifest",
    "ManifestEntry",
    "ManifestRead",
    "read_manifest",
]

MANIFEST_NAME = "generated/manifest.json"


class LoraRecord(BaseModel):
    """A LoRA applied to the generation."""

    model_config = ConfigDict(frozen=True)

    name: str
    strength: float = 1.0


class ManifestEntry(BaseModel):
    """Provenance of one deployed asset (keyed by its path relative to `assets/`)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: Literal["asset"] = "asset"
    asset: str = Field(description="Path relative to assets/, as Bevy loads it.")
    sha256: str
    bytes: int
    atlas: str | None = None
    atlas_sha256: str | None = None
    job_id: str | None = None
    prompt: str | None = None
    seed: int | None = None
    model: str | None = None
    template: str | None = None
    loras: list[LoraRecord] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list, description="Files the asset was copied from.")
    deployed_at: str = Field(description="UTC time of the deploy, ISO 8601.")
    replaced_backup: str | None = Field(
        default=None, description="Backup of the file this deploy overwrote, if any."
    )


class Manifest(BaseModel):
    """The whole manifest file."""

    model_config = ConfigDict(extra="allow")

    type: Literal["dgx-pixels.manifest"] = "dgx-pixels.manifest"
    version: int = 1
    entries: dict[str, ManifestEntry] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Stable, human-readable JSON (sorted entries keep diffs small)."""
        data = self.model_dump(mode="json")
        data["entries"] = dict(sorted(data["entries"].items()))
        return (json.dumps(data, indent=2) + "\n").encode()


@dataclass(frozen=True)
class ManifestRead:
    """The manifest as read, plus what could not be kept.

    Attributes:
        manifest: Every entry that validated.
        warnings: What was wrong with the file (empty when it was fine or absent).
        corrupt: Whether the file on disk should be backed up before being replaced.
    """

    manifest: Manifest
    warnings: tuple[str, ...] = ()
    corrupt: bool = False


def _salvage(path: Path, raw: Any) -> ManifestRead:
    """Keep the valid entries of a manifest whose shape is partly wrong."""
    entries = raw.get("entries") if isinstance(raw, dict) else None
    if not isinstance(entries, dict):
        return ManifestRead(
            Manifest(), (f"{path} has no 'entries' object; started a new manifest",), True
        )
    kept: dict[str, ManifestEntry] = {}
    dropped: list[str] = []
    for key, value in entries.items():
        try:
            kept[str(key)] = ManifestEntry.model_validate(value)
        except ValidationError:
            dropped.append(str(key))
    warning = (
        f"{path} had {len(dropped)} invalid entries ({', '.join(dropped[:5])}); "
        f"kept {len(kept)} valid ones"
    )
    return ManifestRead(Manifest(entries=kept), (warning,), True)


def read_manifest(path: Path, inside: Path | None = None) -> ManifestRead:
    """Read the manifest at `path`, tolerating a missing, corrupt or partly invalid file.

    Args:
        path: The manifest file.
        inside: When given (the project's `assets/`), no link below it is followed: a
            linked manifest or folder is refused (`UnsafeDestinationError`), never read.
    """
    try:
        data = read_nofollow(path, inside) if inside is not None else path.read_bytes()
    except FileNotFoundError:
        data = None
    except OSError as exc:  # unreadable: kept as a backup, replaced by a new manifest
        return ManifestRead(
            Manifest(), (f"{path} is not readable ({exc}); started a new manifest",), True
        )
    if data is None:
        return ManifestRead(Manifest())
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return ManifestRead(
            Manifest(), (f"{path} is not readable JSON ({exc}); started a new manifest",), True
        )
    try:
        return ManifestRead(Manifest.model_validate(raw))
    except ValidationError:
        return _salvage(path, raw)
