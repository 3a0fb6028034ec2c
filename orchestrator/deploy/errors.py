"""Errors of the Bevy deploy step.

    DeployError                      any refused or failed deploy (nothing was written)
    ├── UnknownProjectError          the project is not registered in `bevy_projects`
    ├── UnsafeDestinationError       the asset name or a path component leaves `assets/`
    ├── InvalidSourceError           the sprite/atlas to deploy is missing, not a PNG, not JSON
    ├── AssetTooLargeError           a file or image is over the configured limit
    └── AssetExistsError             the destination exists and `overwrite` was not given

`DeployError` sits under the orchestrator root `DGXPixelsError` (so callers catch one
tree) and also subclasses `ValueError`, since every refusal is bad input from the caller.
"""

from __future__ import annotations

from orchestrator.errors import DGXPixelsError

__all__ = [
    "AssetExistsError",
    "AssetTooLargeError",
    "DeployError",
    "InvalidSourceError",
    "UnknownProjectError",
    "UnsafeDestinationError",
]


class DeployError(DGXPixelsError, ValueError):
    """Root of every error the deploy step raises on purpose; nothing was written."""


class UnknownProjectError(DeployError):
    """The named project is not one of the registered Bevy projects."""


class UnsafeDestinationError(DeployError):
    """The destination would land outside `<project>/assets/` or has an odd name."""


class InvalidSourceError(DeployError):
    """The file to deploy is missing, not a regular file, or not the expected format."""


class AssetTooLargeError(DeployError):
    """A file or image dimension is over the configured limit."""


class AssetExistsError(DeployError):
    """The destination exists and the caller did not ask to overwrite it."""
