"""Deploying generated sprites into registered Bevy projects' `assets/` folders.

Safe (only registered projects, only inside `assets/`, links checked, size limits),
atomic in the way Bevy's watcher reloads (staged outside `assets/`, renamed in), recorded
(`assets/generated/manifest.json`) and reversible (overwritten files are backed up).
"""

from __future__ import annotations

from orchestrator.deploy.deployer import (
    Deployer,
    DeployPlan,
    DeployRequest,
    DeployResult,
    PlannedWrite,
    Provenance,
)
from orchestrator.deploy.errors import (
    AssetExistsError,
    AssetTooLargeError,
    DeployError,
    InvalidSourceError,
    UnknownProjectError,
    UnsafeDestinationError,
)
from orchestrator.deploy.manifest import MANIFEST_NAME, Manifest, ManifestEntry, read_manifest
from orchestrator.deploy.projects import BevyProject, ProjectRegistry
from orchestrator.deploy.sources import DeployLimits

__all__ = [
    "MANIFEST_NAME",
    "AssetExistsError",
    "AssetTooLargeError",
    "BevyProject",
    "DeployError",
    "DeployLimits",
    "DeployPlan",
    "DeployRequest",
    "DeployResult",
    "Deployer",
    "InvalidSourceError",
    "Manifest",
    "ManifestEntry",
    "PlannedWrite",
    "ProjectRegistry",
    "Provenance",
    "UnknownProjectError",
    "UnsafeDestinationError",
    "read_manifest",
]
