"""`/object_info`, `/system_stats`, `/models`, `/view_metadata`, `/features`, `/embeddings`,
`/extensions`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import struct
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from engine.context import bind_engine_context
from engine.graph.node_info import node_info
from engine.server.jsonio import json_response
from engine.server.state import ServerState

__all__ = ["COMFYUI_COMPAT_VERSION", "InfoRoutes", "info_routes", "model_folders"]

logger = logging.getLogger(__name__)

# The ComfyUI release whose API this engine follows (shared/specs/comfyui-api.md).
COMFYUI_COMPAT_VERSION = "0.3.64"
_MODEL_SUFFIXES = {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}
_FOLDERS = (
    "checkpoints",
    "loras",
    "vae",
    "text_encoders",
    "diffusion_models",
    "clip_vision",
    "embeddings",
    "vae_approx",
    "controlnet",
    "upscale_models",
)


def model_folders(state: ServerState) -> dict[str, tuple[Path, ...]]:
    """Folder name -> directories searched, as the loaders see them."""
    paths = state.context.paths
    # ComfyUI's /models also lists folders only an extra_model_paths.yaml names.
    names = dict.fromkeys((*_FOLDERS, *paths.extra_model_paths.folders))
    return {name: paths.folder_dirs(name) for name in names}


def _list_files(dirs: tuple[Path, ...]) -> list[str]:
    found: set[str] = set()
    for base in dirs:
        if not base.is_dir():
            continue
        for root, _, files in os.walk(base, followlinks=True):
            for name in files:
                if Path(name).suffix.lower() in _MODEL_SUFFIXES:
                    found.add(Path(root, name).relative_to(base).as_posix())
    return sorted(found)


def _safetensors_metadata(path: Path, max_header: int = 1024 * 1024) -> dict[str, Any] | None:
    """The `__metadata__` of a safetensors header (None when absent or unreadable)."""
    try:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > max_header:
                return None
            header = json.loads(handle.read(length))
    except (OSError, struct.error, ValueError, RecursionError):
        return None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else None


def _find_model(dirs: tuple[Path, ...], filename: str) -> Path | None:
    # Normalised against "/" first, as ComfyUI's get_full_path does, so ".." cannot escape.
    relative = os.path.relpath(os.path.join("/", filename), "/")
    for base in dirs:
        candidate = base / relative
        if candidate.is_file():
            return candidate
    return None


def _meminfo() -> tuple[int, int]:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    free = total
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
    except OSError:
        logger.debug("no /proc/meminfo; reporting total RAM as free")
    return total, free


def _devices(device: str, ram_total: int, ram_free: int) -> list[dict[str, Any]]:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        out = []
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            reserved = torch.cuda.memory_reserved(index)
            allocated = torch.cuda.memory_allocated(index)
            out.append(
                {
                    "name": f"cuda:{index} {torch.cuda.get_device_name(index)} : native",
                    "type": "cuda",
                    "index": index,
                    "vram_total": total,
                    "vram_free": free + reserved - allocated,
                    "torch_vram_total": reserved,
                    "torch_vram_free": reserved - allocated,
                }
            )
        return out
    return [
        {
            "name": "cpu",
            "type": "cpu",
            "index": None,
            "vram_total": ram_total,
            "vram_free": ram_free,
            "torch_vram_total": ram_total,
            "torch_vram_free": ram_free,
        }
    ]


class InfoRoutes:
    """Handlers over one `ServerState`."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def _infos(self, names: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with bind_engine_context(self.state.context):
            for name in names:
                try:
                    out[name] = node_info(self.state.registry, name)
                except Exception:  # one broken pack node must not hide the others
                    logger.exception(
                        "An error occurred while retrieving information for the %r node.", name
                    )
        return out

    async def object_info(self, request: web.Request) -> web.Response:
        """GET /object_info: every node class."""
        return json_response(await asyncio.to_thread(self._infos, self.state.registry.names()))

    async def object_info_node(self, request: web.Request) -> web.Response:
        """GET /object_info/{class}: one class, `{}` when unknown."""
        name = request.match_info["node_class"]
        if name not in self.state.registry:
            return json_response({})
        return json_response(await asyncio.to_thread(self._infos, [name]))

    async def system_stats(self, request: web.Request) -> web.Response:
        """GET /system_stats: system and device info in ComfyUI's shape."""
        import torch

        ram_total, ram_free = _meminfo()
        system = {
            "os": os.name,
            "ram_total": ram_total,
            "ram_free": ram_free,
            "comfyui_version": COMFYUI_COMPAT_VERSION,
            "required_frontend_version": "",
            "installed_templates_version": "",
            "required_templates_version": "",
            "python_version": sys.version,
            "pytorch_version": torch.__version__,
            "embedded_python": False,
            "argv": sys.argv,
            "engine": f"dgx-pixels embedded engine ({platform.machine()})",
        }
        devices = _devices(self.state.context.device, ram_total, ram_free)
        return json_response({"system": system, "devices": devices})

    async def models(self, request: web.Request) -> web.Response:
        """GET /models: the model folder names."""
        return json_response(list(model_folders(self.state)))

    async def models_folder(self, request: web.Request) -> web.Response:
        """GET /models/{folder}: the files loaders see there."""
        folders = model_folders(self.state)
        folder = request.match_info["folder"]
        if folder not in folders:
            raise web.HTTPNotFound(
                text=f"unknown model folder {folder!r}; known: {sorted(folders)}"
            )
        return json_response(_list_files(folders[folder]))

    async def view_metadata(self, request: web.Request) -> web.Response:
        """GET /view_metadata/{folder}?filename=x.safetensors: its `__metadata__`."""
        folders = model_folders(self.state)
        dirs = folders.get(request.match_info["folder"])
        filename = request.rel_url.query.get("filename", "")
        if dirs is None or not filename.endswith(".safetensors"):
            raise web.HTTPNotFound()
        path = _find_model(dirs, filename)
        metadata = _safetensors_metadata(path) if path is not None else None
        if metadata is None:
            raise web.HTTPNotFound()
        return json_response(metadata)

    async def embeddings(self, request: web.Request) -> web.Response:
        """GET /embeddings: embedding names."""
        files = _list_files(model_folders(self.state)["embeddings"])
        return json_response([os.path.splitext(name)[0] for name in files])

    async def features(self, request: web.Request) -> web.Response:
        """GET /features: the server feature flags."""
        return json_response(self.state.features())

    async def extensions(self, request: web.Request) -> web.Response:
        """GET /extensions: no frontend extensions are served."""
        return json_response([])

    def routes(self) -> list[web.RouteDef]:
        """Route definitions of these handlers."""
        return [
            web.get("/object_info", self.object_info),
            web.get("/object_info/{node_class}", self.object_info_node),
            web.get("/system_stats", self.system_stats),
            web.get("/models", self.models),
            web.get("/models/{folder}", self.models_folder),
            web.get("/view_metadata/{folder}", self.view_metadata),
            web.get("/embeddings", self.embeddings),
            web.get("/features", self.features),
            web.get("/extensions", self.extensions),
        ]


def info_routes(state: ServerState) -> list[web.RouteDef]:
    """Route definitions bound to `state`."""
    return InfoRoutes(state).routes()
