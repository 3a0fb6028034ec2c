"""`dgx-pixels serve`: the long-running daemon: the service's workers plus its adapters.

Adapters (the ZeroMQ bridge, MCP over HTTP with `--mcp-port` …) attach in
`start_adapters`: each gets the running `Service` and the settings, and returns something
with `stop()`. Add yours in `adapter_factories`; the daemon stops them in reverse order on
SIGINT/SIGTERM, then stops the service (jobs in flight stay recorded and are re-attached
on the next start).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import fail, note

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from orchestrator.adapters.metrics import MetricsServer
    from orchestrator.service import Service
    from orchestrator.settings import Settings

__all__ = ["Adapter", "AdapterFactory", "serve_command", "start_adapters"]

logger = logging.getLogger(__name__)


class Adapter(Protocol):
    """A running front end of the service (ZMQ bridge, metrics exporter …)."""

    def stop(self) -> None: ...


AdapterFactory = Callable[["Service", "Settings"], Adapter]


def adapter_factories(settings: Settings) -> list[AdapterFactory]:
    """The adapters `serve` starts for these settings, in order. Extend this list to attach
    a new one (heavy imports inside, so only a daemon that uses an adapter pays for it)."""
    from orchestrator.adapters.zmq.bridge import start_bridge  # pyzmq only when the daemon starts

    factories: list[AdapterFactory] = [start_bridge]
    if settings.mcp_port is not None:
        from orchestrator.adapters.mcp.http import start_mcp_http  # fastmcp + uvicorn

        factories.append(start_mcp_http)
    return factories


def start_adapters(service: Service, settings: Settings) -> list[Adapter]:
    """Start every adapter; if one fails, stop those already started and re-raise."""
    started: list[Adapter] = []
    try:
        for factory in adapter_factories(settings):
            started.append(factory(service, settings))
    except BaseException:
        stop_adapters(started)
        raise
    return started


def stop_adapters(adapters: list[Adapter]) -> None:
    """Stop adapters in reverse start order; one failing does not keep the others up."""
    for adapter in reversed(adapters):
        try:
            adapter.stop()
        except Exception:  # outer edge of shutdown: log and keep stopping the rest
            logger.exception("adapter %r failed to stop", adapter)


def _start_metrics(registry: CollectorRegistry, settings: Settings) -> MetricsServer | None:
    """The `/metrics` endpoint when `metrics_port` is set (ConfigError: port in use)."""
    if settings.metrics_port is None:
        return None
    from orchestrator.adapters.metrics import start_metrics_server

    return start_metrics_server(registry, settings.metrics_host, settings.metrics_port)


def serve_command(
    ctx: typer.Context,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=64, help="Worker threads.")
    ] = None,
    backend: Annotated[
        list[str] | None,
        typer.Option("--backend", help="ComfyUI/engine URL, repeatable (default: embedded)."),
    ] = None,
    mcp_port: Annotated[
        int | None,
        typer.Option(
            "--mcp-port",
            min=0,
            max=65535,
            help="Also serve MCP over streamable HTTP at http://HOST:PORT/mcp (token: "
            "mcp_token / DGXP_MCP_TOKEN, needed unless HOST is loopback).",
        ),
    ] = None,
    mcp_host: Annotated[
        str | None, typer.Option("--mcp-host", help="Bind address for --mcp-port (127.0.0.1).")
    ] = None,
    mcp_allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--mcp-allowed-host",
            help="Host name MCP clients may use besides localhost/127.0.0.1/[::1], repeatable "
            "(mcp_allowed_hosts); needs mcp_token.",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="Serve Prometheus metrics at http://HOST:PORT/metrics (metrics_port; HOST "
            "is metrics_host, 127.0.0.1 by default; 0: any free port).",
        ),
    ] = None,
) -> None:
    """Run the DGX-Pixels daemon until Ctrl-C / SIGTERM.

    It runs queued jobs (from the TUI, MCP, `jobs retry` …), re-attaches jobs a previous
    run left in flight, and serves the adapters (ZeroMQ for the TUI; MCP over HTTP with
    `--mcp-port 8765`, the same server as `dgx-pixels mcp --http`). One daemon per
    data dir: a second `serve` on it refuses to start and names the first one's PID.

    Example: dgx-pixels serve --workers 2 --mcp-port 8765 --metrics-port 9464
    """
    from prometheus_client import CollectorRegistry

    from orchestrator.composition import build_service
    from orchestrator.errors import ConfigError, DGXPixelsError
    from orchestrator.service.worker_pool import DataDirInUse, data_dir_holder, refuse_if_served

    options = {
        "backends": backend or None,
        "mcp_port": mcp_port,
        "mcp_host": mcp_host,
        "mcp_allowed_hosts": mcp_allowed_host or None,
        "metrics_port": metrics_port,
    }
    given = {key: value for key, value in options.items() if value is not None}
    settings = settings_from(ctx).model_copy(update=given)
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        # One daemon per data dir: a second one would take over the first's ipc sockets.
        refuse_if_served(settings.data_dir)  # before anything starts (engine, sockets)
        registry = CollectorRegistry()  # this process's metrics, from here to every family
        exporter = _start_metrics(registry, settings)  # a port in use stops us here
        service = build_service(settings, workers=workers, registry=registry)
        try:
            service.start()
            if not service.runs_jobs:  # another daemon won the data dir meanwhile
                raise DataDirInUse(settings.data_dir, data_dir_holder(settings.data_dir) or "?")
            adapters = start_adapters(service, settings)
            urls = ", ".join(b.url for b in service.backends())
            for adapter in adapters:
                if url := getattr(adapter, "url", None):  # MCP over HTTP names its address
                    note(f"MCP (streamable HTTP): {url}")
            if exporter is not None:
                note(f"metrics (Prometheus): {exporter.url}")
            note(f"dgx-pixels daemon up; backends: {urls}; Ctrl-C stops it")
            stop.wait()
            note("stopping…")
            stop_adapters(adapters)
        finally:
            service.stop()
            if exporter is not None:
                exporter.stop()
    except ConfigError as exc:  # e.g. the metrics port is taken: a configuration to change
        raise fail(exc, code=2) from exc
    except DGXPixelsError as exc:
        raise fail(exc) from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
