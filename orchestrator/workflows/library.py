"""Finding templates on disk: `<dir>/<name>.json` (API graph) + `<dir>/sidecars/<name>.json`.

UI-format twins for the web editor live in `<dir>/ui/<name>.json`; they are generated
(`python -m workflows.regenerate_ui`) and never read to render.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orchestrator.workflows.errors import TemplateDefinitionError, TemplateNotFound
from orchestrator.workflows.sidecar import TemplateSidecar
from orchestrator.workflows.template import Template

__all__ = ["TemplateInfo", "TemplateLibrary", "default_templates_dir"]


def default_templates_dir() -> Path:
    """The `workflows/` folder shipped next to the `orchestrator` package."""
    return Path(__file__).resolve().parents[2] / "workflows"


@dataclass(frozen=True)
class TemplateInfo:
    """What `templates list` shows about one template."""

    name: str
    description: str
    parameters: tuple[str, ...]
    path: Path
    ui_path: Path | None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TemplateDefinitionError(f"cannot read template file {path}: {exc}") from exc


class TemplateLibrary:
    """The templates of one folder.

    Args:
        directory: a folder with `<name>.json` graphs and `sidecars/<name>.json`.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, Template] = {}

    def __repr__(self) -> str:
        return f"TemplateLibrary({str(self.directory)!r})"

    def names(self) -> list[str]:
        """Template names (a graph with a sidecar), sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(
            path.stem
            for path in self.directory.glob("*.json")
            if (self.directory / "sidecars" / path.name).is_file()
        )

    def list(self) -> list[TemplateInfo]:
        """Every template with its description and parameter names."""
        infos: list[TemplateInfo] = []
        for name in self.names():
            template = self.get(name)
            ui_path = self.directory / "ui" / f"{name}.json"
            infos.append(
                TemplateInfo(
                    name=name,
                    description=template.description,
                    parameters=tuple(p.name for p in template.params),
                    path=self.directory / f"{name}.json",
                    ui_path=ui_path if ui_path.is_file() else None,
                )
            )
        return infos

    def get(self, name: str) -> Template:
        """The template called `name`.

        Raises:
            TemplateNotFound: no such template (the message lists the valid names).
            TemplateDefinitionError: its files are malformed or inconsistent.
        """
        if name in self._cache:
            return self._cache[name]
        valid = self.names()
        if name not in valid:
            raise TemplateNotFound(name, valid)
        graph = _read_json(self.directory / f"{name}.json")
        if not isinstance(graph, dict):
            raise TemplateDefinitionError(f"template {name!r} is not an API-format graph object")
        raw_sidecar = _read_json(self.directory / "sidecars" / f"{name}.json")
        try:
            sidecar = TemplateSidecar.model_validate(raw_sidecar)
        except ValidationError as exc:
            raise TemplateDefinitionError(
                f"sidecar of template {name!r} is invalid: {exc}"
            ) from exc
        template = Template(name, graph, sidecar)
        self._cache[name] = template
        return template

    def ui_workflow(self, name: str) -> dict[str, Any] | None:
        """The UI-format twin of `name`, if generated (for `extra_pnginfo.workflow`)."""
        self.get(name)
        path = self.directory / "ui" / f"{name}.json"
        if not path.is_file():
            return None
        workflow = _read_json(path)
        return workflow if isinstance(workflow, dict) else None
