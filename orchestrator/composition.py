"""Building the service's parts from the settings (used by `Service.from_settings`).

The only place that starts the in-process engine: through `engine.runner.start_engine`,
the engine's one public entry point, imported here (not at module import) so a plain
`dgx-pixels --help` never loads torch.
"""

from __future__ import annotations

import logging

from orchestrator.errors import BackendError
from orchestrator.service.backend_pool import BackendPool, RunningEngineLike
from orchestrator.settings import Settings
from orchestrator.workflows import TemplateLibrary, default_templates_dir

__all__ = ["build_pool", "build_templates", "start_in_process_engine"]

logger = logging.getLogger(__name__)


def build_templates(settings: Settings) -> TemplateLibrary:
    """The template library (`settings.templates_dir`, else the shipped `workflows/`)."""
    return TemplateLibrary(settings.templates_dir or default_templates_dir())


def start_in_process_engine(settings: Settings) -> RunningEngineLike:
    """Start the embedded engine on a free loopback port, on the settings' models folder.

    Raises:
        BackendError: The engine refused its settings (e.g. `engine_compile` on a CPU) or
            could not start; the message says which setting to change.
    """
    from engine.errors import EngineError
    from engine.runner import EngineConfig, start_engine

    config = EngineConfig(
        base_dir=settings.data_dir / "engine",
        models_dir=settings.resolved_models_dir,
        output_dir=settings.data_dir / "engine-output",
        host="127.0.0.1",
        port=0,
        precision=settings.engine_precision,
        compile=settings.engine_compile,
        preview_method=settings.engine_preview,
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
    pool = BackendPool(settings.request_timeout_s, settings.health_interval_s)
    for url in settings.backends:
        pool.add_url(url)
    in_process = settings.engine_in_process
    if in_process is None:
        in_process = not settings.backends
    if in_process:
        pool.add_engine(start_in_process_engine(settings))
    if not pool.urls:
        raise BackendError(
            "no backend: set DGXP_BACKENDS (or --backend URL), or allow the embedded engine "
            "(engine_in_process is false)"
        )
    return pool
