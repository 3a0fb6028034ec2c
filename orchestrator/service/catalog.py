"""What the service can list and check without running a job: models, LoRAs, palettes,
and local pixelization of an existing picture."""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

from orchestrator.comfy.errors import ComfyError
from orchestrator.errors import BackendError, InvalidRequest
from orchestrator.jobs.models import SpriteFiles
from orchestrator.service.backend_pool import BackendPool
from orchestrator.service.outputs import preview_factor, slugify
from orchestrator.service.values import ModelInfo, PixelizeOutcome
from orchestrator.settings import Settings

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
    """Model and palette lists over the pool; local pixelization into the outputs folder."""

    def __init__(self, pool: BackendPool, settings: Settings) -> None:
        self.pool = pool
        self.settings = settings

    def models(self, folder: str) -> list[ModelInfo]:
        """Files of `folder` on every healthy backend (first backend listing a name wins).

        Raises:
            BackendError: No backend answered.
        """
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
        from comfy_nodes.pixel.palette import resolve_palette

        try:
            resolve_palette(name)
        except (ValueError, OSError) as exc:
            raise InvalidRequest("palette", name, _palette_reason(name, exc)) from exc

    def pixelize_file(self, source: Path | str | bytes, options: Any) -> PixelizeOutcome:
        """Pixelize a picture with the pixel core (no backend) and write sprite, preview and
        sidecar under `<outputs>/<date>/pixelize/`.

        Raises:
            ValueError: The pixel core's errors (bad image, bad options), unchanged.
        """
        from comfy_nodes.pixel.atomic import write_files_atomic
        from comfy_nodes.pixel.image_io import encode_png, load_image
        from comfy_nodes.pixel.pipeline import pixelize
        from comfy_nodes.pixel.upscale import upscale_nearest

        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        result = pixelize(load_image(data), options)
        name = "upload" if isinstance(source, bytes) else Path(source).stem
        day = time.strftime("%Y-%m-%d", time.gmtime())
        base = self.settings.resolved_output_dir / day / "pixelize"
        base = base / f"{slugify(name)}_{hashlib.sha256(data).hexdigest()[:8]}"
        height, width = result.sprite.shape[:2]
        factor = preview_factor(width, height)
        files = SpriteFiles(
            sprite=str(base.with_suffix(".png")),
            sidecar=str(base.with_suffix(".json")),
            preview=str(base.with_name(f"{base.name}@{factor}x.png")),
        )
        report = result.report.to_dict()
        sidecar = {
            "type": "dgxp_pixelize_sidecar",
            "version": 1,
            "source": name,
            "source_sha256": hashlib.sha256(data).hexdigest(),
            "size": [width, height],
            "qa_report": report,
            "files": files.to_dict(),
        }
        # All three files or none, as the CLI's `pixelize` writes them.
        write_files_atomic(
            {
                Path(files.sprite): encode_png(result.sprite),
                Path(str(files.preview)): encode_png(upscale_nearest(result.sprite, factor)),
                Path(files.sidecar): (json.dumps(sidecar, indent=2) + "\n").encode(),
            }
        )
        return PixelizeOutcome(files=files, size=(width, height), report=report)
