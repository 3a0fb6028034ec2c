"""Writing a finished job's files: sprite, preview, raw render, atlas and provenance sidecar.

Names are stable and collision-free: `<out>/<YYYY-MM-DD>/<slug>_<jobid8>_<n>.png` (the date
is the job's creation date, UTC), so collecting the same job again after a crash rewrites
the same names instead of adding copies. Every file goes through the one atomic writer
(`comfy_nodes.pixel.atomic`: temp file, fsync, `os.replace`, the umask's permissions), and
the sidecar is written last, so a crash never leaves a half file and a
sidecar always means its sprite is complete.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from comfy_nodes.pixel.atomic import write_atomic
from comfy_nodes.pixel.bevy_atlas import BEVY_ATLAS_TYPE
from orchestrator.jobs.models import Job, SpriteFiles
from orchestrator.service.lineage import lineage

__all__ = [
    "FileHasher",
    "RenderedImage",
    "collect_outputs",
    "job_stem",
    "local_atlas",
    "local_qa_report",
    "preview_factor",
    "slugify",
    "upscale_png",
    "write_atomic",
]

logger = logging.getLogger(__name__)

PREVIEW_TARGET_PX = 256
MAX_PREVIEW_FACTOR = 16
_RAW_MIN_SIDE = 256  # without roles, images at least this big are taken as raw renders


@dataclass(frozen=True)
class RenderedImage:
    """One image the backend produced, with the node that produced it."""

    node_id: str
    filename: str
    data: bytes


def slugify(text: str, max_len: int = 40) -> str:
    """File-name-safe lower-case words from a prompt (`"A red potion!"` -> `a-red-potion`)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:max_len].strip("-")
    return slug or "sprite"


def job_stem(job: Job, out_dir: Path) -> Path:
    """`<out>/<date>/<slug>_<jobid8>`: the prefix of every file of `job`."""
    day = datetime.fromtimestamp(job.created_at, tz=UTC).strftime("%Y-%m-%d")
    return out_dir / day / f"{slugify(job.prompt)}_{job.short_id}"


def preview_factor(width: int, height: int, target: int = PREVIEW_TARGET_PX) -> int:
    """Integer scale so the preview's long side is about `target` pixels (1..16)."""
    return max(1, min(MAX_PREVIEW_FACTOR, target // max(1, width, height)))


def upscale_png(data: bytes, factor: int) -> bytes:
    """Nearest-neighbour upscale of a PNG by an integer factor (pixel-art preview)."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        converted = img.convert("RGBA")
    try:
        upscale = importlib.import_module("comfy_nodes.pixel.upscale")
        big = Image.fromarray(upscale.upscale_nearest(np.asarray(converted), factor), "RGBA")
    except ImportError:  # pixel core not there yet: PIL's NEAREST is the same operation
        big = converted.resize(
            (converted.width * factor, converted.height * factor), Image.Resampling.NEAREST
        )
    buffer = io.BytesIO()
    big.save(buffer, format="PNG", compress_level=1)  # a preview: speed over size
    return buffer.getvalue()


def _rgba(data: bytes) -> np.ndarray[Any, np.dtype[np.uint8]]:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGBA"), dtype=np.uint8)


def local_qa_report(png: bytes) -> dict[str, Any] | None:
    """The pixel core's QA report of a sprite, computed here: only a fallback for a backend
    whose DGXP_SpriteReport predates its `ui` text (ComfyUI keeps STRING outputs out of
    `/history`); `collect_outputs` prefers the report the node put in its `ui`."""
    try:
        qa = importlib.import_module("comfy_nodes.pixel.qa")
        report: dict[str, Any] = qa.qa_report(_rgba(png)).to_dict()
    except (ImportError, ValueError) as exc:  # a sprite the core refuses: no report
        logger.debug("no local QA report: %s", exc)
        return None
    return report


def local_atlas(
    frames: Sequence[RenderedImage], params: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Rebuild an animation sheet's Aseprite atlas from its aligned frames and the job's
    parameters (`directions`, `frames`, `animation`, `frame_ms`, `sheet_name`), through the
    same layout the sheet node builds (`SheetLayout.parse` and `pack_layout`), so the tags
    are the node's `<animation>_<direction>` rows. A fallback for a backend whose
    DGXP_AssembleAnimationSheet does not put the atlas in its `ui` text."""
    if not frames:
        return None
    try:
        sheets = importlib.import_module("comfy_nodes.pixel.animation_sheet")
        layout = sheets.SheetLayout.parse(
            str(params.get("directions", "")),
            int(params.get("frames", 0)),
            str(params.get("animation", "walk")),
            int(params.get("frame_ms", 150)),
        )
        _, atlas = sheets.pack_layout(
            [_rgba(f.data) for f in frames],
            layout,
            image_name=str(params.get("sheet_name", "sheet.png")),
        )
    except (ImportError, ValueError) as exc:
        logger.warning("could not rebuild the sheet atlas: %s", exc)
        return None
    return dict(atlas)


def _image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return int(img.width), int(img.height)


# Roles whose images travel with a sprite instead of being sprites themselves.
_NOT_SPRITES = frozenset({"report", "atlas", "bevy_atlas", "frames", "comparison", "tiled_preview"})


def _raw_role(role: str) -> str:
    return "raw" if role == "sprite" else f"{role}_raw"


def _pair_images(
    images: Sequence[RenderedImage], roles: Mapping[str, str]
) -> list[tuple[RenderedImage, RenderedImage | None]]:
    """(sprite, its raw render) pairs, by the template's output roles, else by size.

    Roles ending in `raw` are raw renders of the role without it (`base_raw` -> `base`,
    `raw` -> `sprite`); previews, frames, reports, atlases and comparisons are not sprites.
    """
    role_of = {node: role for role, node in roles.items()}
    if any(img.node_id in role_of for img in images):
        pairs: list[tuple[RenderedImage, RenderedImage | None]] = []
        for role, node in roles.items():
            if role in _NOT_SPRITES or role == "raw" or role.endswith("_raw"):
                continue
            sprites = [i for i in images if i.node_id == node]
            raws = [i for i in images if i.node_id == roles.get(_raw_role(role))]
            pairs += [(s, raws[n] if n < len(raws) else None) for n, s in enumerate(sprites)]
        return pairs
    sized = [(i, min(_image_size(i.data))) for i in images]
    sprites = [i for i, side in sized if side < _RAW_MIN_SIDE]
    raws = [i for i, side in sized if side >= _RAW_MIN_SIDE]
    if not sprites:
        sprites, raws = raws, []
    return [(s, raws[n] if n < len(raws) else None) for n, s in enumerate(sprites)]


_UI_KEYS = ("report", "atlas", "text")


def _json_texts(ui: Mapping[str, Any], keys: Sequence[str] = _UI_KEYS) -> list[Any]:
    """JSON objects a node reported in its `ui` dict (`text`, `report`, `atlas` lists)."""
    found: list[Any] = []
    for key in keys:
        for item in ui.get(key, []) if isinstance(ui.get(key), list) else []:
            if isinstance(item, dict):
                found.append(item)
            elif isinstance(item, str):
                try:
                    parsed = json.loads(item)
                except json.JSONDecodeError:
                    continue
                # a batch's reports in one text (a list) count as one report per sprite
                found += parsed if isinstance(parsed, list) else [parsed]
    return found


def _find(outputs: Mapping[str, Any], roles: Mapping[str, str], role: str, key: str) -> list[Any]:
    """Reports/atlases: from the role's node (its `ui[role]` list when it has one: a node
    that plays several roles, like the animation sheet's), else any node whose JSON has
    `key`."""
    node = roles.get(role)
    if node is not None and isinstance(outputs.get(node), dict):
        ui = outputs[node]
        return _json_texts(ui, (role,) if isinstance(ui.get(role), list) else _UI_KEYS)
    found = []
    for ui in outputs.values():
        if isinstance(ui, dict):
            found += [x for x in _json_texts(ui) if isinstance(x, dict) and key in x]
    return found


def collect_outputs(
    job: Job,
    images: Sequence[RenderedImage],
    history_outputs: Mapping[str, Any],
    roles: Mapping[str, str],
    out_dir: Path,
    provenance: Mapping[str, Any],
    graph: Mapping[str, Any] | None = None,
) -> tuple[SpriteFiles, ...]:
    """Write every sprite of a finished job and its sidecar; idempotent per job.

    Args:
        job: The job (its id, prompt and creation date name the files).
        images: Images fetched from the backend, in history order.
        history_outputs: The history entry's `outputs` (for QA reports and atlases).
        roles: The template's output roles (`{"sprite": "12", "raw": "9"}`), may be empty.
        out_dir: The outputs root.
        provenance: Extra sidecar fields (backend, prompt id, hashes, timings …).
        graph: The rendered API graph: each sidecar then names only the checkpoint and
            LoRAs upstream of its own sprite (`lora_compare`'s base sprite has none).

    Returns:
        The files of each sprite, in order.
    """
    pairs = _pair_images(images, roles)
    reports = _find(history_outputs, roles, "report", "pixel_perfect")
    atlases = _find(history_outputs, roles, "atlas", "frames")
    if not atlases and "atlas" in roles:  # the backend kept the atlas STRING to itself
        frames = [i for i in images if i.node_id == roles.get("frames")]
        atlases = [a for a in [local_atlas(frames, job.params)] if a is not None]
    bevy = [
        b
        for b in _find(history_outputs, roles, "bevy_atlas", "tile_size")
        if "bevy_atlas" in roles and isinstance(b, dict) and b.get("type") == BEVY_ATLAS_TYPE
    ]
    comparisons = [i for i in images if i.node_id == roles.get("comparison")]
    tiled = [i for i in images if i.node_id == roles.get("tiled_preview")]
    stem = job_stem(job, out_dir)
    written: list[SpriteFiles] = []
    for n, (sprite, raw) in enumerate(pairs):
        base = stem.with_name(f"{stem.name}_{n}")
        files = _write_sprite(base, sprite, raw)
        sheet = _sheet_files(base, sprite, atlases[n] if n < len(atlases) else None,
                             bevy[n] if n < len(bevy) else None)  # fmt: skip
        comparison_path = _extra(base, "compare", comparisons, n)
        tiled_path = _extra(base, "tiled", tiled, n)
        report = reports[n] if n < len(reports) else (reports[0] if reports else None)
        if report is None:
            report = local_qa_report(sprite.data)
        files = SpriteFiles(
            sprite=files.sprite,
            sidecar=str(base.with_suffix(".json")),
            preview=files.preview,
            raw=files.raw,
            atlas=sheet.atlas,
            comparison=comparison_path,
            tiled_preview=tiled_path,
            qa_warnings=_qa_warnings(report),
            bevy_atlas=sheet.bevy_atlas,
            animation=sheet.animation,
        )
        own = _own_provenance(provenance, graph, sprite.node_id)
        sidecar = _sidecar(job, n, sprite, files, report, own)
        write_atomic(Path(files.sidecar), (json.dumps(sidecar, indent=2) + "\n").encode())
        written.append(files)
    return tuple(written)


@dataclass(frozen=True)
class _SheetFiles:
    atlas: str | None = None
    bevy_atlas: str | None = None
    animation: str | None = None


def _write_json(path: Path, data: Any) -> str:
    write_atomic(path, (json.dumps(data, indent=2) + "\n").encode())
    return str(path)


def _sheet_files(base: Path, sprite: RenderedImage, atlas: Any, bevy: Any) -> _SheetFiles:
    """A sheet's atlases (naming the sheet file as written) and, for an animation sheet
    (one with a Bevy atlas), its GIF preview: `<base>.atlas.json`, `.bevy.json`, `.gif`."""
    image = base.with_suffix(".png").name
    if isinstance(atlas, dict) and isinstance(atlas.get("meta"), dict):
        atlas = {**atlas, "meta": {**atlas["meta"], "image": image}}
    atlas_path = _write_json(base.with_suffix(".atlas.json"), atlas) if atlas else None
    if not isinstance(bevy, dict):
        return _SheetFiles(atlas_path)
    bevy_path = _write_json(base.with_suffix(".bevy.json"), {**bevy, "image": image})
    return _SheetFiles(atlas_path, bevy_path, _animation(base, sprite, atlas, bevy))


def _animation(
    base: Path, sprite: RenderedImage, atlas: Any, bevy: Mapping[str, Any]
) -> str | None:
    """The sheet's looping GIF, scaled like its preview; None when the atlas does not fit."""
    try:
        preview = importlib.import_module("comfy_nodes.pixel.animation_preview")
        tile = bevy.get("tile_size", [1, 1])
        gif = preview.preview_gif(_rgba(sprite.data), atlas, preview_factor(*tile))
    except (ImportError, ValueError, TypeError) as exc:
        logger.warning("no animation preview for %s: %s", base.name, exc)
        return None
    path = base.with_suffix(".gif")
    write_atomic(path, gif)
    return str(path)


def _own_provenance(
    provenance: Mapping[str, Any], graph: Mapping[str, Any] | None, node_id: str
) -> Mapping[str, Any]:
    """The job's provenance narrowed to the models upstream of this sprite's node."""
    found = lineage(graph, node_id) if graph is not None else None
    if found is None or not found.files:  # an untraceable graph: the job's models
        return provenance
    models = provenance.get("models", [])
    return {
        **provenance,
        "models": [m for m in models if isinstance(m, Mapping) and m.get("name") in found.files],
        "checkpoint": found.checkpoint or provenance.get("checkpoint"),
        "loras": found.loras,
    }


def _qa_warnings(report: Any) -> tuple[str, ...]:
    """The warnings of a QA report (`QAReport.to_dict()`), if it is one."""
    warnings = report.get("warnings") if isinstance(report, Mapping) else None
    return tuple(str(w) for w in warnings) if isinstance(warnings, list) else ()


def _extra(base: Path, suffix: str, images: Sequence[RenderedImage], n: int) -> str | None:
    """Write the n-th image of a role that travels with sprite n (`<base>_<suffix>.png`)."""
    if n >= len(images):
        return None
    path = base.with_name(f"{base.name}_{suffix}.png")
    write_atomic(path, images[n].data)
    return str(path)


def _write_sprite(base: Path, sprite: RenderedImage, raw: RenderedImage | None) -> SpriteFiles:
    sprite_path = base.with_suffix(".png")
    write_atomic(sprite_path, sprite.data)
    width, height = _image_size(sprite.data)
    factor = preview_factor(width, height)
    preview_path = base.with_name(f"{base.name}@{factor}x.png")
    write_atomic(preview_path, upscale_png(sprite.data, factor))
    raw_path = None
    if raw is not None:
        raw_path = base.with_name(f"{base.name}_raw.png")
        write_atomic(raw_path, raw.data)
    return SpriteFiles(
        sprite=str(sprite_path),
        sidecar="",
        preview=str(preview_path),
        raw=str(raw_path) if raw_path else None,
    )


def _sidecar(
    job: Job,
    index: int,
    sprite: RenderedImage,
    files: SpriteFiles,
    report: Any,
    provenance: Mapping[str, Any],
) -> dict[str, Any]:
    width, height = _image_size(sprite.data)
    params = dict(job.params)
    return {
        "type": "dgxp_sprite_sidecar",
        "version": 1,
        "job_id": job.id,
        "index": index,
        "prompt": job.prompt,
        "negative_prompt": params.get("negative_prompt", ""),
        "seed": job.seed,
        "template": job.template,
        "params": params,
        "size": [width, height],
        "sha256": hashlib.sha256(sprite.data).hexdigest(),
        "backend_file": sprite.filename,
        "files": files.to_dict(),
        "qa_report": report,
        "qa_warnings": list(files.qa_warnings),
        "created_at": job.created_at,
        **provenance,
    }


@dataclass
class _PendingHash:
    """A background hash in progress: set `done` once `digest` is known (None: it failed)."""

    done: threading.Event = field(default_factory=threading.Event)
    digest: str | None = None


class FileHasher:
    """sha256 of model files, cached by (path, size, mtime) so a checkpoint hashes once.

    With a `cache_file` (the data dir's `model_hashes.json`) the cache outlives the
    process: a 6.9 GB checkpoint is hashed once per change of the file, not once per run.
    A missing, unreadable or corrupt cache file only costs a re-hash. `prefetch` hashes
    on a background thread while the backend loads the model and samples, so a job's
    `sha256` call finds the digest ready (or waits only for the rest of that hash).

    Args:
        cache_file: Where to keep the digests between processes; None keeps them in memory.
    """

    def __init__(self, cache_file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._file = cache_file
        self._cache: dict[str, list[Any]] = self._load()
        self._pending: dict[str, _PendingHash] = {}  # path key -> the prefetch reading it

    def _load(self) -> dict[str, list[Any]]:
        if self._file is None:
            return {}
        try:
            data = json.loads(self._file.read_text())
        except (OSError, ValueError) as exc:
            if not isinstance(exc, FileNotFoundError):
                logger.warning(
                    "model hash cache %s unreadable (%s); starting afresh", self._file, exc
                )
            return {}
        entries = data.get("files") if isinstance(data, dict) else None
        return {
            key: value
            for key, value in (entries or {}).items()
            if isinstance(value, list) and len(value) == 3
        }

    def _save(self) -> None:
        if self._file is None:
            return
        body = json.dumps({"type": "dgxp_model_hashes", "version": 1, "files": self._cache})
        try:
            write_atomic(self._file, (body + "\n").encode())
        except OSError as exc:  # a cache: the digest is still right, only not kept
            logger.warning("could not save the model hash cache %s: %s", self._file, exc)

    def _lookup(self, path: Path) -> tuple[str, list[int], str | None] | None:
        """(key, [size, mtime], cached digest or None); None when `path` does not exist."""
        try:
            stat = path.stat()
        except OSError:
            return None
        key, stamp = str(path.resolve()), [stat.st_size, stat.st_mtime_ns]
        with self._lock:
            cached = self._cache.get(key)
        fresh = cached is not None and cached[:2] == stamp
        return key, stamp, str(cached[2]) if cached is not None and fresh else None

    def sha256(self, path: Path) -> str:
        """Hex digest of `path`, or "" when it does not exist locally."""
        found = self._lookup(path)
        if found is not None and found[2] is None:
            with self._lock:
                pending = self._pending.get(found[0])
            if pending is not None:  # a prefetch is reading it: share its result (the
                pending.done.wait()  # stamp may have moved meanwhile, as a pipe's does)
                if pending.digest is not None:
                    return pending.digest
                found = self._lookup(path)
        if found is None:
            return ""
        key, stamp, value = found
        return value if value is not None else self._digest(path, key, stamp)

    def prefetch(self, paths: Iterable[Path]) -> None:
        """Hash the files among `paths` that are not cached yet, each on its own daemon
        thread; returns at once. Missing files are skipped."""
        for path in paths:
            found = self._lookup(path)
            if found is None or found[2] is not None:
                continue
            key, stamp, _ = found
            with self._lock:
                if key in self._pending:
                    continue
                pending = self._pending[key] = _PendingHash()
            threading.Thread(
                target=self._background,
                args=(path, key, stamp, pending),
                name="dgxp-model-hash",
                daemon=True,  # never holds the process open at exit
            ).start()

    def _background(self, path: Path, key: str, stamp: list[int], pending: _PendingHash) -> None:
        try:
            pending.digest = self._digest(path, key, stamp)
        except OSError as exc:  # the job's own sha256 call retries and reports it
            logger.warning("could not hash %s in the background: %s", path, exc)
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.done.set()

    def _digest(self, path: Path, key: str, stamp: list[int]) -> str:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        value = digest.hexdigest()
        with self._lock:
            self._cache[key] = [*stamp, value]
            self._save()
        return value
