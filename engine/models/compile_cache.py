"""Compile once per machine: torch.compile's caches live under the engine's data dir.

Inductor keeps compiled kernels, FX graphs and AOT-autograd graphs in a cache folder that
defaults to `/tmp/torchinductor_<user>` (lost on reboot, shared by unrelated programs) and
Triton keeps its binaries in `~/.triton/cache`. The engine points both under its own
folder when compile is on, at start (never at import), so a second `engine serve` on the
same machine finds every graph it compiled before and reaches full speed in seconds:

    <cache_dir>/inductor     TORCHINDUCTOR_CACHE_DIR (FX graph + AOT autograd caches on)
    <cache_dir>/triton       TRITON_CACHE_DIR
    <cache_dir>/mega-cache.bin  torch.compiler.save_cache_artifacts() after a warm-up,
                                loaded at the next start (portable to another machine
                                with the same GPU, torch and Triton)

A variable the user already set wins (the user chose that folder). These are process-wide
settings (torch reads them per process), so an in-process engine sets them for the whole
orchestrator process too.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from comfy_nodes.pixel.atomic import write_atomic

__all__ = ["MEGA_CACHE_NAME", "CompileCache", "prepare_compile_cache", "save_mega_cache"]

logger = logging.getLogger(__name__)

MEGA_CACHE_NAME = "mega-cache.bin"
_FOLDERS = {"TORCHINDUCTOR_CACHE_DIR": "inductor", "TRITON_CACHE_DIR": "triton"}
_SWITCHES = {"TORCHINDUCTOR_FX_GRAPH_CACHE": "1", "TORCHINDUCTOR_AUTOGRAD_CACHE": "1"}


@dataclass(frozen=True)
class CompileCache:
    """Where this process's compile caches are, and whether a mega-cache was loaded."""

    root: Path
    inductor: Path
    triton: Path
    mega_cache_loaded: bool = False

    @property
    def mega_cache(self) -> Path:
        """The mega-cache file under `root`."""
        return self.root / MEGA_CACHE_NAME


def prepare_compile_cache(root: Path) -> CompileCache:
    """Put inductor's and Triton's caches under `root` (unless already set), turn the FX
    graph and AOT autograd caches on, and load `root/mega-cache.bin` if there is one.

    Raises:
        OSError: `root` cannot be created.
    """
    root.mkdir(parents=True, exist_ok=True)
    folders: dict[str, Path] = {}
    for variable, name in _FOLDERS.items():
        if variable in os.environ:
            logger.info(
                "compile cache: %s=%s (from the environment)", variable, os.environ[variable]
            )
        else:
            os.environ[variable] = str(root / name)
        folders[variable] = Path(os.environ[variable])
        folders[variable].mkdir(parents=True, exist_ok=True)
    for variable, value in _SWITCHES.items():
        os.environ.setdefault(variable, value)
    _switch_caches_on()
    cache = CompileCache(
        root,
        folders["TORCHINDUCTOR_CACHE_DIR"],
        folders["TRITON_CACHE_DIR"],
        _load_mega_cache(root),
    )
    logger.info(
        "compile caches: inductor %s, triton %s%s",
        cache.inductor,
        cache.triton,
        ", mega-cache loaded" if cache.mega_cache_loaded else "",
    )
    return cache


def _switch_caches_on() -> None:
    """The same switches on torch's config objects (read once, when torch imported them)."""
    import torch._functorch.config as functorch_config
    import torch._inductor.config as inductor_config

    inductor_config.fx_graph_cache = True
    functorch_config.enable_autograd_cache = True


def _load_mega_cache(root: Path) -> bool:
    import torch

    path = root / MEGA_CACHE_NAME
    load = getattr(torch.compiler, "load_cache_artifacts", None)
    if load is None or not path.is_file():
        return False
    try:
        load(path.read_bytes())
    except Exception as exc:  # a cache from another torch: compile afresh, never fail the start
        logger.warning("compile cache: %s could not be loaded (%s); compiling afresh", path, exc)
        return False
    return True


def save_mega_cache(cache: CompileCache) -> Path | None:
    """Write this process's compile artifacts to `cache.mega_cache` (whole or not at all);
    None when torch offers no mega-cache or nothing was compiled."""
    import torch

    save = getattr(torch.compiler, "save_cache_artifacts", None)
    artifacts = save() if save is not None else None
    if not artifacts:
        return None
    data, _info = artifacts
    write_atomic(cache.mega_cache, bytes(data))
    logger.info("compile cache: saved %d bytes of artifacts to %s", len(data), cache.mega_cache)
    return cache.mega_cache
