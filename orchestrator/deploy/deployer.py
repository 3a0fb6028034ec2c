"""Deploying a generated sprite (and its atlas) into a registered Bevy project.

`Deployer.deploy` reads as numbered steps: resolve the project, check the name, read and
check the sources, plan every write (create or overwrite, backups, manifest), and unless
it is a dry run, apply the plan under a per-project lock. Nothing is written before every
check has passed, and an existing file is only replaced with `overwrite=True`, after a
copy of it is kept under `<root>/.dgx-pixels/backups/<time>/`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Literal

from orchestrator.deploy.atomic import ensure_folder, write_atomic
from orchestrator.deploy.errors import AssetExistsError, UnsafeDestinationError
from orchestrator.deploy.manifest import MANIFEST_NAME, LoraRecord, ManifestEntry, read_manifest
from orchestrator.deploy.nofollow import open_nofollow, read_nofollow
from orchestrator.deploy.paths import asset_name, resolve_destination
from orchestrator.deploy.projects import BevyProject, ProjectRegistry
from orchestrator.deploy.sources import (
    DeployLimits,
    SourceFile,
    read_atlas,
    read_bevy_atlas,
    read_sprite,
)

__all__ = ["DeployPlan", "DeployRequest", "DeployResult", "Deployer", "PlannedWrite", "Provenance"]

WriteRole = Literal["sprite", "atlas", "bevy_atlas", "manifest"]
WriteAction = Literal["create", "overwrite"]


@dataclass(frozen=True)
class Provenance:
    """Where a sprite came from, recorded in the manifest."""

    job_id: str | None = None
    prompt: str | None = None
    seed: int | None = None
    model: str | None = None
    template: str | None = None
    loras: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class DeployRequest:
    """What to deploy where.

    Attributes:
        project: Registered project, by folder name or root path.
        name: Asset path under `assets/` (`potion` means `generated/potion.png`).
        sprite: The sprite PNG to copy.
        atlas: Optional atlas JSON (sprite sheets), deployed next to it as `<name>.json`.
        bevy_atlas: Optional Bevy atlas JSON (animation sheets), deployed next to it as
            `<name>.bevy.json`.
        provenance: Recorded in the manifest.
        overwrite: Replace existing files (they are backed up first).
    """

    project: str
    name: str
    sprite: Path
    atlas: Path | None = None
    provenance: Provenance = field(default_factory=Provenance)
    bevy_atlas: Path | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class PlannedWrite:
    """One file the deploy writes (or would write, in a dry run)."""

    role: WriteRole
    asset: str
    path: Path
    action: WriteAction
    bytes: int
    sha256: str
    backup: Path | None = None

    def describe(self) -> str:
        """One line for humans: `overwrite generated/a.png (123 bytes, backup …)`."""
        backup = f", backup {self.backup}" if self.backup else ""
        return f"{self.action} {self.asset} ({self.bytes} bytes{backup})"


@dataclass(frozen=True)
class DeployPlan:
    """Every write of one deploy, in the order they happen (atlases, sprite, manifest)."""

    project: BevyProject
    writes: tuple[PlannedWrite, ...]
    warnings: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        """The plan as lines for a CLI or a tool result."""
        return [w.describe() for w in self.writes] + [f"warning: {w}" for w in self.warnings]


@dataclass(frozen=True)
class DeployResult:
    """The outcome: the plan, and whether it was only a dry run."""

    plan: DeployPlan
    dry_run: bool

    @property
    def written(self) -> tuple[Path, ...]:
        """Files now in place (none for a dry run)."""
        return () if self.dry_run else tuple(w.path for w in self.plan.writes)

    @property
    def sprite_path(self) -> Path:
        """The final path of the sprite."""
        return next(w.path for w in self.plan.writes if w.role == "sprite")


@dataclass(frozen=True)
class _Checked:
    files: tuple[tuple[WriteRole, PurePosixPath, SourceFile], ...]

    def source(self, role: WriteRole) -> SourceFile | None:
        return next((src for r, _, src in self.files if r == role), None)


@dataclass(frozen=True)
class _Prepared:
    plan: DeployPlan
    payloads: tuple[bytes, ...]
    corrupt_manifest: Path | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Deployer:
    """Deploys sprites into registered Bevy projects, safely and atomically."""

    def __init__(
        self,
        registry: ProjectRegistry,
        limits: DeployLimits | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """Build a deployer.

        Args:
            registry: The registered Bevy projects (the only allowed destinations).
            limits: Size limits; defaults to `DeployLimits()`.
            clock: Time source for manifest entries and backup folder names.
        """
        self.registry = registry
        self.limits = limits or DeployLimits()
        self._clock = clock

    def projects(self) -> list[BevyProject]:
        """Registered projects that are valid right now."""
        return self.registry.projects()

    def plan(self, request: DeployRequest) -> DeployPlan:
        """Check everything and say what `deploy` would write; writes nothing."""
        return self.deploy(request, dry_run=True).plan

    def deploy(self, request: DeployRequest, *, dry_run: bool = False) -> DeployResult:
        """Deploy `request`, or with `dry_run` only plan it.

        Raises:
            DeployError: any refusal (unknown project, unsafe name, bad or huge source,
                existing file without `overwrite`); nothing was written.
        """
        project = self.registry.get(request.project)
        checked = self._check(request)
        if dry_run:  # read-only: no lock, so a dry run leaves no trace in the project
            return DeployResult(plan=self._prepare(project, request, checked).plan, dry_run=True)
        with _project_lock(project):
            prepared = self._prepare(project, request, checked)
            self._apply(project, prepared)
        return DeployResult(plan=prepared.plan, dry_run=False)

    def _check(self, request: DeployRequest) -> _Checked:
        """Names and sources: everything that can be refused without looking at the project."""
        # 1. names: the sprite, its atlas sibling; neither may shadow the manifest.
        rel = asset_name(request.name)
        if str(rel.with_suffix(".json")) == MANIFEST_NAME:
            raise UnsafeDestinationError(
                f"name={request.name!r} clashes with the deploy manifest {MANIFEST_NAME}; "
                "pick another name."
            )
        # 2. sources, read and checked before anything is written.
        sprite = read_sprite(request.sprite, self.limits)
        files: list[tuple[WriteRole, PurePosixPath, SourceFile]] = [("sprite", rel, sprite)]
        if request.atlas is not None:
            # The atlas goes first, so it exists when Bevy sees the new sprite.
            atlas = read_atlas(request.atlas, rel.name, self.limits)
            files.insert(0, ("atlas", rel.with_suffix(".json"), atlas))
        if request.bevy_atlas is not None:
            bevy = read_bevy_atlas(request.bevy_atlas, rel.name, self.limits)
            files.insert(0, ("bevy_atlas", rel.with_suffix(".bevy.json"), bevy))
        return _Checked(files=tuple(files))

    def _prepare(
        self, project: BevyProject, request: DeployRequest, checked: _Checked
    ) -> _Prepared:
        now = self._clock()
        stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
        # 3. every destination resolved inside assets/ (links checked), create or overwrite.
        writes = [
            self._plan_file(project, role, path, src, request.overwrite, stamp)
            for role, path, src in checked.files
        ]
        # 4. the manifest entry, merged into whatever valid entries exist.
        manifest_path = resolve_destination(project, PurePosixPath(MANIFEST_NAME))
        read = read_manifest(manifest_path, inside=project.assets)
        entry = _entry(request, writes, checked, now)
        read.manifest.entries[entry.asset] = entry
        manifest_bytes = read.manifest.to_bytes()
        writes.append(
            _planned("manifest", MANIFEST_NAME, manifest_path, SourceFile.of(manifest_bytes))
        )
        corrupt = (
            project.backups_dir / stamp / (MANIFEST_NAME + ".corrupt") if read.corrupt else None
        )
        payloads = (*(src.data for _, _, src in checked.files), manifest_bytes)
        plan = DeployPlan(project=project, writes=tuple(writes), warnings=read.warnings)
        return _Prepared(plan=plan, payloads=payloads, corrupt_manifest=corrupt)

    def _plan_file(
        self,
        project: BevyProject,
        role: WriteRole,
        rel: PurePosixPath,
        src: SourceFile,
        overwrite: bool,
        stamp: str,
    ) -> PlannedWrite:
        path = resolve_destination(project, rel)
        if not path.exists():
            return _planned(role, str(rel), path, src)
        if not overwrite:
            raise AssetExistsError(
                f"name={str(rel)!r}: {path} already exists; pass overwrite=true to replace it "
                "(the current file is kept under .dgx-pixels/backups/)."
            )
        backup = project.backups_dir / stamp / rel
        return _planned(role, str(rel), path, src, backup=backup)

    def _apply(self, project: BevyProject, prepared: _Prepared) -> None:
        manifest = prepared.plan.writes[-1].path
        ensure_folder(project.staging_dir, project.root)
        keep = prepared.corrupt_manifest
        # The corrupt manifest's own bytes (never a link's target) are kept as a backup.
        if keep is not None and (corrupt := read_nofollow(manifest, project.assets)) is not None:
            ensure_folder(keep.parent, project.root)
            write_atomic(keep, corrupt, project.staging_dir)
        # Every backup before any write: a refused backup must leave all assets as they were.
        for write in prepared.plan.writes:
            if write.backup is not None:
                ensure_folder(write.backup.parent, project.root)
                shutil.copy2(write.path, write.backup)
        for write, payload in zip(prepared.plan.writes, prepared.payloads, strict=True):
            ensure_folder(write.path.parent, project.assets)
            write_atomic(write.path, payload, project.staging_dir)


def _planned(
    role: WriteRole, asset: str, path: Path, src: SourceFile, backup: Path | None = None
) -> PlannedWrite:
    action: WriteAction = "overwrite" if path.exists() else "create"
    return PlannedWrite(role, asset, path, action, len(src.data), src.sha256, backup)


def _entry(
    request: DeployRequest, writes: list[PlannedWrite], checked: _Checked, now: datetime
) -> ManifestEntry:
    by_role = {w.role: w for w in writes}
    sprite = checked.source("sprite")
    atlas = checked.source("atlas")
    assert sprite is not None  # _check always reads the sprite
    prov = request.provenance
    sources = [str(p) for p in (request.sprite, request.atlas, request.bevy_atlas) if p]
    backup = by_role["sprite"].backup
    return ManifestEntry(
        asset=by_role["sprite"].asset,
        sha256=sprite.sha256,
        bytes=len(sprite.data),
        atlas=by_role["atlas"].asset if "atlas" in by_role else None,
        atlas_sha256=atlas.sha256 if atlas else None,
        job_id=prov.job_id,
        prompt=prov.prompt,
        seed=prov.seed,
        model=prov.model,
        template=prov.template,
        loras=[LoraRecord(name=n, strength=s) for n, s in prov.loras],
        sources=sources,
        deployed_at=now.isoformat(),
        replaced_backup=str(backup) if backup else None,
    )


@contextlib.contextmanager
def _project_lock(project: BevyProject) -> Iterator[None]:
    """Serialise deploys into one project (the manifest is read-modify-write)."""
    ensure_folder(project.state_dir, project.root)
    # Never through a link: a linked `.dgx-pixels/` or `deploy.lock` is refused, not followed.
    fd = open_nofollow(project.state_dir / "deploy.lock", project.root, os.O_RDWR | os.O_CREAT)
    with os.fdopen(fd, "r+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
