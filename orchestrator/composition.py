"""The one composition root: settings -> store -> pool -> service, and the engine's door.

Adapters' entry points (the CLI commands) build what they run here. It is also the only
orchestrator module that imports the engine, and only through its public API (`engine`'s
`__all__`), inside the functions, so a plain `dgx-pixels --help` never loads torch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import BackendError
from orchestrator.service.backend_pool import GROUP_SCHEME, BackendPool, RunningEngineLike
from orchestrator.service.dispatch_policy import DispatchPolicy
from orchestrator.settings import Settings
from orchestrator.workflows import TemplateLibrary, default_templates_dir

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from engine import DemoResult, EngineConfig
    from orchestrator.service import Service

__all__ = [
    "build_pool",
    "build_service",
    "build_templates",
    "demo_model_stages",
    "engine_config",
    "engine_group_members",
    "serve_engine",
    "serve_engine_group",
    "start_in_process_engine",
    "write_demo_model",
    "write_fullsize_demo_model",
]

logger = logging.getLogger(__name__)


def build_templates(settings: Settings) -> TemplateLibrary:
    """The template library (`settings.templates_dir`, else the shipped `workflows/`)."""
    return TemplateLibrary(settings.templates_dir or default_templates_dir())


def build_service(
    settings: Settings,
    *,
    backends: bool = True,
    registry: CollectorRegistry | None = None,
    **options: Any,
) -> Service:
    """The service on the store, template library and pool the settings describe.

    With no `settings.backends`, the embedded engine is started in-process (port 0).
    `backends=False` builds an empty pool: enough to list, show, cancel and retry jobs,
    pixelize files or list local models without starting anything. `options` go to
    `Service` as they are (`workers=`, `claim_scope=`). With a `registry` (the daemon's,
    one per process), the service feeds the daemon's metric families on it and reports
    its GPUs (NVML) in status snapshots.
    """
    from orchestrator.jobs.store import JobStore
    from orchestrator.service import Service

    templates = build_templates(settings)
    if registry is not None:
        from orchestrator.service.gpu import GpuTelemetry
        from orchestrator.service.metrics import DaemonMetrics

        names = templates.names()
        options = {**options, "metrics": DaemonMetrics(registry, names), "gpus": GpuTelemetry()}

    store = JobStore(settings.database_path)
    try:
        pool = build_pool(settings) if backends else BackendPool(settings.request_timeout_s)
    except BaseException:
        store.close()
        raise
    return Service(settings, pool, store, templates, **options)


def engine_config(**fields: Any) -> EngineConfig:
    """An `engine.EngineConfig` from its field names (the `engine serve` flags name them).

    Raises:
        TypeError: A field the engine does not have.
    """
    from engine import EngineConfig

    return EngineConfig(**fields)


def serve_engine(
    config: EngineConfig, on_warmup: Callable[[int, int, str], None] | None = None
) -> None:
    """Serve the embedded engine in this thread until Ctrl-C, after its warm-up shapes
    (`on_warmup(done, total, what)` reports them).

    Raises:
        BackendError: The engine refused its configuration (a bad warm-up shape included)
            or could not start.
    """
    from engine import EngineError, serve_forever

    try:
        serve_forever(config, on_warmup)
    except EngineError as exc:
        raise BackendError(str(exc)) from exc


def start_in_process_engine(settings: Settings) -> RunningEngineLike:
    """Start the embedded engine on a free loopback port, on the settings' models folder.

    Raises:
        BackendError: The engine refused its settings (e.g. `engine_compile` on a CPU) or
            could not start; the message says which setting to change.
    """
    from engine import EngineError, start_engine

    config = engine_config(
        base_dir=settings.data_dir / "engine",
        models_dir=settings.resolved_models_dir,
        output_dir=settings.data_dir / "engine-output",
        host="127.0.0.1",
        port=0,
        precision=settings.engine_precision,
        compile=settings.engine_compile,
        preview_method=settings.engine_preview,
        cuda_graphs=settings.engine_cuda_graphs,
        fuse_qkv=settings.engine_fuse_qkv,
        attention=settings.engine_attention,
        vae_slice=settings.engine_vae_slice,
        extra_model_paths_configs=tuple(settings.engine_extra_model_paths),
        # One set of caps: the engine refuses at /prompt what admission would refuse.
        max_pixels=settings.max_pixels,
        max_outputs=settings.max_outputs,
        max_prompt_chars=settings.max_prompt_chars,
    )
    try:
        engine: RunningEngineLike = start_engine(config)
    except EngineError as exc:
        raise BackendError(f"the embedded engine could not start: {exc}") from exc
    logger.info("in-process engine serving at %s", engine.url)
    return engine


def build_pool(settings: Settings) -> BackendPool:
    """A pool of `settings.backends` and/or the in-process engine (see `engine_in_process`).

    Raises:
        BackendError: Neither URLs nor the in-process engine: nothing could run a job.
    """
    policy = DispatchPolicy(settings.backend_max_in_flight, settings.backend_sticky_slack)
    pool = BackendPool(settings.request_timeout_s, settings.health_interval_s, policy)
    for url in settings.backends:
        if url.startswith(GROUP_SCHEME):
            name = url.removeprefix(GROUP_SCHEME).strip("/")
            pool.add_group(name, engine_group_members(settings.data_dir, name))
        else:
            pool.add_url(url)
    in_process = settings.engine_in_process
    if in_process is None:
        in_process = not settings.backends
    if in_process:
        pool.add_engine(start_in_process_engine(settings))
    if not pool.urls and not pool.groups:
        raise BackendError(
            "no backend: set DGXP_BACKENDS (or --backend URL), or allow the embedded engine "
            "(engine_in_process is false)"
        )
    return pool


def engine_group_members(data_dir: Path, name: str) -> Callable[[], list[str]]:
    """What the pool asks for `engine://<name>`: the member URLs in the group's members
    file under `data_dir` (written by `dgx-pixels engine serve --gpus`), read anew each call.

    Raises:
        BackendError: `name` is not a valid group name (now), or the file is unreadable
            (when called).
    """
    from engine import EngineError, group_file, read_group_members

    try:
        path = group_file(data_dir, name)
    except EngineError as exc:
        raise BackendError(f"backend {GROUP_SCHEME}{name}: {exc}") from exc

    def members() -> list[str]:
        try:
            return [m.url for m in read_group_members(path)]
        except EngineError as exc:
            raise BackendError(str(exc)) from exc

    return members


def serve_engine_group(
    config: EngineConfig,
    gpus: str,
    data_dir: Path,
    name: str,
    stop: threading.Event,
    on_start: Callable[[list[str]], None] | None = None,
) -> None:
    """Run one supervised engine process per slot of `gpus` until `stop` is set, published
    as `engine://<name>` under `data_dir`; `on_start` is told the members' URLs first.

    Raises:
        BackendError: A malformed `gpus`, a bad base port or group name.
    """
    from engine import EngineError, EngineGroup, group_file, parse_gpus

    try:
        slots = parse_gpus(gpus, config.port)
        group = EngineGroup(config, slots, group_file(data_dir, name))
    except EngineError as exc:
        raise BackendError(str(exc)) from exc
    logger.info(
        "engine group %s%s: %d member(s) on ports %d..%d",
        GROUP_SCHEME,
        name,
        len(slots),
        slots[0].port,
        slots[-1].port,
    )
    if on_start is not None:
        on_start([m.url for m in group.views()])
    group.serve(stop)


def demo_model_stages() -> tuple[str, ...]:
    """The stages `write_demo_model` reports, in order (for a progress bar)."""
    from engine import DEMO_STAGES

    return tuple(DEMO_STAGES)


def write_demo_model(
    models_dir: Path, *, overwrite: bool, on_stage: Callable[[str], None]
) -> DemoResult:
    """Write the small random-weight demo checkpoint into `models_dir` (loads torch)."""
    from engine import write_demo_checkpoint

    return write_demo_checkpoint(models_dir, overwrite=overwrite, on_stage=on_stage)


def write_fullsize_demo_model(
    models_dir: Path, *, overwrite: bool, on_progress: Callable[[int, int], None]
) -> DemoResult:
    """Write the real-size (~7 GB) random SDXL demo checkpoint into `models_dir`."""
    from engine import write_fullsize_demo_checkpoint

    return write_fullsize_demo_checkpoint(models_dir, overwrite=overwrite, on_progress=on_progress)
