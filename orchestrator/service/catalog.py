"""What the service can list and check without running a job: models, LoRAs, palettes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from orchestrator.comfy.errors import ComfyError
from orchestrator.errors import BackendError, InvalidRequest
from orchestrator.service.backend_pool import BackendPool
from orchestrator.service.values import ModelInfo
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from comfy_nodes.pixel.palette import Palette

__all__ = ["Catalog", "is_demo_model"]


def is_demo_model(name: str) -> bool:
    """True for the tiny random-weight demo checkpoint (its pictures are meaningless)."""
    lowered = name.lower()
    return "demo" in lowered or lowered.startswith("tiny_sdxl")


def _palette_reason(name: str, exc: Exception) -> str:
    """The pixel core's reason without its own `palette='x'` / `palette file x` lead-in:
    `InvalidRequest` already starts the message with `palette='x': `."""
    lead = rf"^(palette={re.escape(repr(name))}|palette file {re.escape(name)}):?\s*(is\s+)?"
    return re.sub(lead, "", str(exc), count=1) or str(exc)


class Catalog:
    """Model and palette lists over the pool."""

    def __init__(self, pool: BackendPool, settings: Settings) -> None:
        self.pool = pool
        self.settings = settings

    def models(self, folder: str) -> list[ModelInfo]:
        """Files of `folder` on every healthy backend (first backend listing a name wins);
        LoRAs carry the trigger words of their cards in the local models folder.

        Raises:
            BackendError: No backend answered.
        """
        listed = self._listed(folder)
        if folder != "loras":
            return listed
        from orchestrator.service.lora_cards import with_cards

        return with_cards(listed, self.settings.resolved_models_dir / "loras")

    def _listed(self, folder: str) -> list[ModelInfo]:
        if not self.pool.urls:  # no backend started (e.g. `models list`): the local folder
            return self.local_models(folder)
        seen: dict[str, ModelInfo] = {}
        errors: list[str] = []
        for info in self.pool.infos():
            if not info.healthy:
                continue
            try:
                names = self.pool.get(info.url).client.models(folder)
            except ComfyError as exc:
                errors.append(str(exc))
                continue
            for name in names:
                seen.setdefault(name, ModelInfo(name, folder, info.url, "", is_demo_model(name)))
        if not seen and errors:
            raise BackendError(f"no backend listed {folder}: {'; '.join(errors)}")
        return sorted(seen.values(), key=lambda m: m.name)

    def local_models(self, folder: str) -> list[ModelInfo]:
        """Model files in the local models folder (what the in-process engine would see)."""
        root = self.settings.resolved_models_dir / folder
        if not root.is_dir():
            return []
        return [
            ModelInfo(p.name, folder, "local", "", is_demo_model(p.name))
            for p in sorted(root.iterdir())
            if p.suffix in {".safetensors", ".ckpt", ".pt", ".sft"}
        ]

    @staticmethod
    def palettes() -> list[str]:
        """Built-in palette names."""
        from comfy_nodes.pixel.palettes_builtin import builtin_palette_names

        return list(builtin_palette_names())

    @staticmethod
    def check_palette(name: str | None) -> None:
        """Raise `InvalidRequest` unless `name` is a built-in palette or a readable file."""
        if name is None or name.lower() in ("auto", "none"):  # template keywords, not files
            return
        Catalog.resolve_palette(name)

    @staticmethod
    def resolve_palette(name: str) -> Palette:
        """The palette a name or file stands for (the one palette policy of the service).

        Raises:
            InvalidRequest: Unknown name, or a missing or malformed file (field `palette`).
        """
        from comfy_nodes.pixel.palette import resolve_palette

        try:
            return resolve_palette(name)
        except (ValueError, OSError) as exc:
            raise InvalidRequest("palette", name, _palette_reason(name, exc)) from exc
