"""torch.compile for a loaded checkpoint: the tuned GPU path, shared by the engine and the bench.

On an H200 compiling the UNet and the VAE decoder with channels_last halves SDXL's batch-1
latency (2.1 → 1.1 s/image, see `bench/baselines/throughput-nvidia-h200*.json`). The
compiled `forward` is stored on the cached modules themselves, so it is compiled once per
loaded checkpoint and reused by every later prompt; only a new latent shape (size or batch)
compiles again. `compile_checkpoint` is idempotent for a mode already applied.

The batch dimension is compiled dynamic (from batch 2 up), so batch 1 with CFG, batch 8
with CFG and batch 8 without it share one UNet graph per resolution instead of compiling
minutes each. A compile that fails falls back to the eager forward with ONE warning, and
the engine's observer counts it (`dgxp_engine_compile_fallbacks_total{part}`).
`tune_checkpoint` applies the compile mode and the speed levers of `engine.models.speed`
in the one order that works (fp8, fused QKV, compile, attention backend, CUDA graphs).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, get_args

import torch
from torch.utils import _pytree as pytree

from engine.context import engine_observer
from engine.models.checkpoint import LoadedCheckpoint
from engine.models.speed import CudaGraphForward, Speed, quantize_fp8, with_attention

__all__ = [
    "COMPILE_MODES",
    "CompileMode",
    "compile_checkpoint",
    "compile_observed",
    "note_compiled_shape",
    "tune_checkpoint",
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


def compile_checkpoint(ckpt: LoadedCheckpoint, mode: str, backend: Any = "inductor") -> None:
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
    ckpt.unet.forward = _compiled(ckpt.unet.forward, mode, backend, "unet")
    ckpt.vae.decoder.forward = _compiled(ckpt.vae.decoder.forward, mode, backend, "vae")
    ckpt.compile_mode = mode
    log.warning(
        "torch.compile (mode=%s) wraps the UNet and VAE decoder of %s: the FIRST prompt at each "
        "new size/batch is slow while it compiles (about 2 min for SDXL on an H200); later "
        "prompts of that shape reuse the compiled graph",
        mode,
        ckpt.path.name,
    )


def _compiled(forward: Any, mode: str, backend: Any, part: str) -> Any:
    # `mode` is an inductor option; other backends (tests' "eager") take none.
    if backend == "inductor":
        compiled = torch.compile(forward, mode=mode, fullgraph=False)
    else:
        compiled = torch.compile(forward, backend=backend, fullgraph=False)
    return CompiledWithFallback(forward, compiled, part)


def _mark_batch_dynamic(value: Any) -> None:
    # Batch 1 stays specialised (a dimension of size 1 cannot be marked dynamic).
    if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape[0] > 1:
        torch._dynamo.maybe_mark_dynamic(value, 0)


def _reason(exc: BaseException) -> str:
    """The exception and its root cause, first lines only (dynamo wraps the backend's)."""
    cause = getattr(exc, "inner_exception", None) or exc.__cause__
    parts = [f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"]
    if cause is not None and cause is not exc:
        text = str(cause).strip().splitlines()
        parts.append(f"{type(cause).__name__}: {text[0] if text else ''}")
    return "; caused by ".join(parts)[:500]


class CompiledWithFallback:
    """A compiled forward that marks the batch dynamic and falls back to eager on failure.

    A compile (or compiled-run) error other than running out of memory is logged ONCE as a
    warning, counted by the engine's observer (`compile_failed(part)`), and from then on
    the eager forward runs; the call that failed is retried eagerly, so the prompt goes on.
    """

    def __init__(self, eager: Any, compiled: Any, part: str) -> None:
        self.eager, self.compiled, self.part = eager, compiled, part
        self.failed: str | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.failed is not None:
            return self.eager(*args, **kwargs)
        pytree.tree_map(_mark_batch_dynamic, (args, kwargs))
        try:
            return self.compiled(*args, **kwargs)
        except torch.cuda.OutOfMemoryError:
            raise
        except Exception as exc:  # any compiler failure: eager is still right
            self.failed = _reason(exc)
            log.warning(
                "torch.compile of the %s failed (%s); running it eagerly from now on",
                self.part,
                self.failed,
            )
            engine_observer().compile_failed(self.part)
            return self.eager(*args, **kwargs)


def tune_checkpoint(
    ckpt: LoadedCheckpoint,
    mode: str,
    speed: Speed,
    *,
    fp8: bool = False,
    backend: Any = "inductor",
) -> None:
    """Apply precision fp8, the speed levers and the compile mode to a loaded checkpoint.

    Order: fp8 quantization, fused QKV, torch.compile, the attention backend (outside the
    compiled graph, so it holds while tracing too), then CUDA graphs (eager only).
    """
    if fp8 and not ckpt.fp8:
        with torch.no_grad():
            quantize_fp8(ckpt.unet)
        ckpt.fp8 = True
    if speed.fuse_qkv and not ckpt.qkv_fused:
        with torch.no_grad():
            ckpt.unet.fuse_qkv_projections()
        ckpt.qkv_fused = True
    compile_checkpoint(ckpt, mode, backend)
    if speed.attention != "auto":
        ckpt.unet.forward = with_attention(ckpt.unet.forward, speed.attention)
    if speed.cuda_graphs and mode == "off":
        ckpt.unet.forward = CudaGraphForward(ckpt.unet.forward, f"UNet of {ckpt.path.name}")
    ckpt.vae_slice = speed.vae_slice


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
