"""Registered Bevy projects: the only places a deploy may write to.

A project is a folder holding `Cargo.toml` and an `assets/` folder. Only roots listed in
the settings (`bevy_projects`) are accepted; callers name one by its folder name or its
path, never by an arbitrary path that happens to look like a project.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.deploy.errors import UnknownProjectError, UnsafeDestinationError

__all__ = ["BevyProject", "ProjectRegistry"]


@dataclass(frozen=True)
class BevyProject:
    """A registered Bevy project.

    Attributes:
        name: The folder name of the root, used to pick the project in tools.
        root: The project root, fully resolved.
        assets: `<root>/assets`, fully resolved and inside `root`.
    """

    name: str
    root: Path
    assets: Path

    @property
    def state_dir(self) -> Path:
        """Our own folder in the project (`.dgx-pixels/`), outside `assets/` on purpose."""
        return self.root / ".dgx-pixels"

    @property
    def staging_dir(self) -> Path:
        """Where files are written before being renamed into `assets/`."""
        return self.state_dir / "staging"

    @property
    def backups_dir(self) -> Path:
        """Where overwritten assets and corrupt manifests are kept."""
        return self.state_dir / "backups"


def _problem(root: Path) -> str | None:
    """Why `root` is not a usable Bevy project, or None when it is."""
    if not root.is_dir():
        return "is not a folder"
    if not (root / "Cargo.toml").is_file():
        return "has no Cargo.toml"
    assets = root / "assets"
    if not assets.is_dir():
        return "has no assets/ folder"
    if not assets.resolve().is_relative_to(root.resolve()):
        return "has an assets/ link that points outside the project"
    return None


class ProjectRegistry:
    """The registered project roots, looked up by name or path."""

    def __init__(self, roots: Iterable[Path]) -> None:
        """Remember the registered roots (checked lazily, so a missing one is reported).

        Args:
            roots: Project roots from `Settings.bevy_projects`.
        """
        self._roots: tuple[Path, ...] = tuple(Path(r).expanduser() for r in roots)

    @property
    def roots(self) -> Sequence[Path]:
        """The registered roots as configured."""
        return self._roots

    def projects(self) -> list[BevyProject]:
        """Every registered root that currently is a valid Bevy project."""
        return [self._make(root) for root in self._roots if _problem(root) is None]

    def problems(self) -> dict[Path, str]:
        """Registered roots that are not usable right now, with the reason."""
        found = {root: _problem(root) for root in self._roots}
        return {root: why for root, why in found.items() if why is not None}

    def get(self, project: str | Path) -> BevyProject:
        """The registered project named `project` (folder name or root path).

        Raises:
            UnknownProjectError: `project` matches no registered root.
            UnsafeDestinationError: it matches, but is not a valid Bevy project now.
        """
        wanted = str(project)
        for root in self._roots:
            if wanted in (root.name, str(root)) or _same_path(Path(wanted), root):
                why = _problem(root)
                if why is not None:
                    raise UnsafeDestinationError(
                        f"project={wanted!r}: registered root {root} {why}; "
                        "a Bevy project needs Cargo.toml and an assets/ folder."
                    )
                return self._make(root)
        known = ", ".join(f"{r.name} ({r})" for r in self._roots) or "none"
        raise UnknownProjectError(
            f"project={wanted!r} is not a registered Bevy project (registered: {known}). "
            "Add its root to `bevy_projects` (DGXP_BEVY_PROJECTS or dgx-pixels.toml)."
        )

    @staticmethod
    def _make(root: Path) -> BevyProject:
        real = root.resolve()
        return BevyProject(name=root.name, root=real, assets=(real / "assets").resolve())


def _same_path(a: Path, b: Path) -> bool:
    """Whether two paths name the same folder (both must be absolute to compare)."""
    if not a.is_absolute():
        return False
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
