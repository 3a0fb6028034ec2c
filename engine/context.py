"""What a running node may ask the engine for, without globals.

ComfyUI nodes reach model management, folder paths, progress bars and the interrupt flag
through module globals. The embedded engine instead binds two small objects for the
duration of a call: `EngineContext` (paths, model cache, device) whenever node classes are
asked for `INPUT_TYPES` or run, and `NodeRuntime` (progress and interrupt) while one node
runs. Core nodes call `engine_context()` / `node_runtime()`; our comfy_nodes pack never does,
so it still loads in a real ComfyUI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine.errors import EngineError, InterruptedByUser
from engine.extra_model_paths import ExtraModelPaths
from engine.limits import DEFAULT_LIMITS, EngineLimits

__all__ = [
    "NULL_OBSERVER",
    "EngineContext",
    "EngineObserver",
    "EnginePaths",
    "NodeRuntime",
    "bind_engine_context",
    "bind_node_runtime",
    "engine_context",
    "engine_limits",
    "engine_observer",
    "node_runtime",
]


@dataclass(frozen=True)
class EnginePaths:
    """ComfyUI's folder layout: models/{checkpoints,loras}, input/, output/, temp/."""

    models: Path
    input: Path
    output: Path
    temp: Path
    extra_checkpoints: tuple[Path, ...] = ()
    extra_loras: tuple[Path, ...] = ()
    # The extra_model_paths.yaml entries (engine.extra_model_paths.ExtraModelPaths).
    extra_model_paths: ExtraModelPaths = field(default_factory=ExtraModelPaths)

    def folder_dirs(self, folder: str) -> tuple[Path, ...]:
        """Where a model folder (`checkpoints`, `loras`, `vae`…) is searched, in order:
        the engine's own folder(s), with the extra_model_paths.yaml entries placed as
        ComfyUI places them."""
        own = {
            "checkpoints": (self.models / "checkpoints", *self.extra_checkpoints),
            "loras": (self.models / "loras", self.output / "loras", *self.extra_loras),
        }.get(folder, (self.models / folder,))
        return self.extra_model_paths.arrange(folder, own)

    @property
    def checkpoint_dirs(self) -> tuple[Path, ...]:
        return self.folder_dirs("checkpoints")

    @property
    def lora_dirs(self) -> tuple[Path, ...]:
        return self.folder_dirs("loras")

    def ensure(self) -> None:
        folders = (self.models / "checkpoints", self.models / "loras", self.input, self.output)
        for folder in (*folders, self.temp):
            folder.mkdir(parents=True, exist_ok=True)


class EngineObserver(Protocol):
    """Told where a prompt's time goes (`engine.server.metrics.EngineMetrics` is one)."""

    def unet_step(self, seconds: float) -> None: ...

    def vae_decode(self, seconds: float) -> None: ...

    def compiled(self, part: str, seconds: float) -> None: ...

    def compile_cache_hit(self, part: str) -> None: ...

    def compile_failed(self, part: str) -> None: ...


class _NullObserver:
    """Hears nothing: the engine run without metrics (tests, the bench)."""

    def unet_step(self, seconds: float) -> None:
        pass

    def vae_decode(self, seconds: float) -> None:
        pass

    def compiled(self, part: str, seconds: float) -> None:
        pass

    def compile_cache_hit(self, part: str) -> None:
        pass

    def compile_failed(self, part: str) -> None:
        pass


NULL_OBSERVER: EngineObserver = _NullObserver()


@dataclass
class EngineContext:
    """Per-engine state that core nodes need. `models` is the engine's model cache."""

    paths: EnginePaths
    models: Any = None  # engine.models.cache.ModelCache; Any keeps this module import-light
    device: str = "cpu"
    extras: dict[str, Any] = field(default_factory=dict)
    limits: EngineLimits = DEFAULT_LIMITS
    observer: EngineObserver = NULL_OBSERVER


@dataclass
class NodeRuntime:
    """Bound while one node runs: report progress (with an optional preview image) and
    check the interrupt flag between sampler steps."""

    prompt_id: str
    node_id: str
    report_progress: Callable[[int, int, bytes | None], None] = lambda value, total, preview: None
    is_interrupted: Callable[[], bool] = lambda: False

    def progress(self, value: int, total: int, preview_png: bytes | None = None) -> None:
        self.report_progress(value, total, preview_png)

    def check_interrupt(self) -> None:
        """Raise `InterruptedByUser` if the user asked to stop; call between steps."""
        if self.is_interrupted():
            raise InterruptedByUser(f"prompt {self.prompt_id} interrupted at node {self.node_id}")


_engine: ContextVar[EngineContext | None] = ContextVar("dgxp_engine_context", default=None)
_runtime: ContextVar[NodeRuntime | None] = ContextVar("dgxp_node_runtime", default=None)


def engine_context() -> EngineContext:
    """The engine the calling node runs in; raises if called outside the engine."""
    ctx = _engine.get()
    if ctx is None:
        raise EngineError("no engine context is bound: core nodes run only inside the engine")
    return ctx


def engine_limits() -> EngineLimits:
    """The caps of the engine the caller runs in; the defaults outside an engine."""
    ctx = _engine.get()
    return DEFAULT_LIMITS if ctx is None else ctx.limits


def engine_observer() -> EngineObserver:
    """Where the running engine's timings go; a null observer outside an engine."""
    ctx = _engine.get()
    return NULL_OBSERVER if ctx is None else ctx.observer


def node_runtime() -> NodeRuntime | None:
    """The runtime of the node being executed, or None outside execution."""
    return _runtime.get()


@contextmanager
def bind_engine_context(ctx: EngineContext) -> Iterator[EngineContext]:
    token = _engine.set(ctx)
    try:
        yield ctx
    finally:
        _engine.reset(token)


@contextmanager
def bind_node_runtime(runtime: NodeRuntime) -> Iterator[NodeRuntime]:
    token = _runtime.set(runtime)
    try:
        yield runtime
    finally:
        _runtime.reset(token)
