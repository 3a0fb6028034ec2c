"""torch.compile for a loaded checkpoint: the tuned GPU path, shared by the engine and the bench.

On an H200 compiling the UNet and the VAE decoder with channels_last halves SDXL's batch-1
latency (2.1 → 1.1 s/image, see `bench/baselines/throughput-nvidia-h200*.json`). The
compiled `forward` is stored on the cached modules themselves, so it is compiled once per
loaded checkpoint and reused by every later prompt; only a new latent shape (size or batch)
compiles again. `compile_checkpoint` is idempotent for a mode already applied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, get_args

import torch

from engine.context import engine_observer
from engine.models.checkpoint import LoadedCheckpoint

__all__ = [
    "COMPILE_MODES",
    "CompileMode",
    "compile_checkpoint",
    "compile_observed",
    "note_compiled_shape",
    "validate_compile_mode",
]

log = logging.getLogger(__name__)

CompileMode = Literal["off", "default", "reduce-overhead", "max-autotune"]
COMPILE_MODES: tuple[str, ...] = get_args(CompileMode)


def validate_compile_mode(mode: str, device_type: str) -> CompileMode:
    """Check a compile mode against the device it would run on.

    Compilation is refused on a CPU (not ignored): inductor on a CPU needs a C++ toolchain,
    takes minutes per shape and gains little, so a silently ignored flag would only hide a
    misconfiguration.

    Raises:
        ValueError: An unknown mode (naming the valid ones), or a mode other than "off" on
            a device that is not CUDA.
    """
    if mode not in COMPILE_MODES:
        raise ValueError(f"unknown compile={mode!r}; valid: {', '.join(COMPILE_MODES)}")
    if mode != "off" and device_type != "cuda":
        raise ValueError(
            f"compile={mode!r} needs a CUDA GPU but the engine runs on {device_type!r}; "
            "use compile 'off' (--compile off / DGXP_ENGINE_COMPILE=off) on a CPU"
        )
    return mode  # type: ignore[return-value]


def compile_checkpoint(ckpt: LoadedCheckpoint, mode: str, backend: str = "inductor") -> None:
    """torch.compile the UNet and the VAE decoder in place, channels_last.

    Args:
        ckpt: The loaded checkpoint; its modules keep the compiled `forward`.
        mode: "default", "reduce-overhead" (CUDA graphs) or "max-autotune"; "off" does nothing.
        backend: torch.compile backend ("eager" lets CPU tests count graphs without inductor).
    """
    if mode == "off" or ckpt.compile_mode == mode:
        return
    if ckpt.compile_mode != "off":
        raise ValueError(
            f"{ckpt.path.name} is already compiled with mode {ckpt.compile_mode!r}; "
            f"reload it to compile with mode {mode!r}"
        )
    ckpt.unet.to(memory_format=torch.channels_last)
    ckpt.vae.decoder.to(memory_format=torch.channels_last)
    ckpt.unet.forward = _compiled(ckpt.unet.forward, mode, backend)
    ckpt.vae.decoder.forward = _compiled(ckpt.vae.decoder.forward, mode, backend)
    ckpt.compile_mode = mode
    log.warning(
        "torch.compile (mode=%s) wraps the UNet and VAE decoder of %s: the FIRST prompt at each "
        "new size/batch is slow while it compiles (about 2 min for SDXL on an H200); later "
        "prompts of that shape reuse the compiled graph",
        mode,
        ckpt.path.name,
    )


def _compiled(forward: Any, mode: str, backend: str) -> Any:
    # `mode` is an inductor option; other backends (tests' "eager") take none.
    if backend == "inductor":
        return torch.compile(forward, mode=mode, fullgraph=False)
    return torch.compile(forward, backend=backend, fullgraph=False)


def note_compiled_shape(ckpt: LoadedCheckpoint, part: str, shape: tuple[int, ...]) -> bool | None:
    """Log once per (part, shape) of a compiled checkpoint that this call will compile.

    Returns:
        None when the checkpoint is not compiled, True when this call compiles a new graph,
        False when a graph for this shape was compiled before (a compile-cache hit).
    """
    if ckpt.compile_mode == "off":
        return None
    key = (part, shape)
    if key in ckpt.compiled_shapes:
        return False
    ckpt.compiled_shapes.add(key)
    log.warning(
        "%s of %s: first call at input shape %s compiles (unless a compiled graph already "
        "fits it), so this prompt is slow; later ones of this shape are fast",
        part,
        ckpt.path.name,
        shape,
    )
    return True


@contextmanager
def compile_observed(compiling: bool | None, part: str) -> Iterator[None]:
    """Time the call of a compiled `part` ("unet" | "vae") for the engine's observer: a
    compile when `compiling` (from `note_compiled_shape`), a cache hit when False."""
    began = time.perf_counter()
    yield
    if compiling:
        engine_observer().compiled(part, time.perf_counter() - began)
    elif compiling is False:
        engine_observer().compile_cache_hit(part)
