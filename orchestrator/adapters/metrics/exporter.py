"""Serve one `CollectorRegistry` over HTTP at `/metrics` (prometheus-client's server).

Each scrape is answered on its own thread and reads the families as they are: counters
and histograms the job threads update, and gauges from the daemon's latest snapshot. So a
scrape never waits for job work, and job work never waits for a scrape.
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestrator.errors import ConfigError

if TYPE_CHECKING:
    import threading
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import CollectorRegistry

__all__ = ["MetricsServer", "start_metrics_server"]

logger = logging.getLogger(__name__)


@dataclass
class MetricsServer:
    """A running `/metrics` endpoint; `stop()` closes its socket."""

    server: WSGIServer
    thread: threading.Thread
    host: str

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5.0)


def start_metrics_server(registry: CollectorRegistry, host: str, port: int) -> MetricsServer:
    """Serve `registry` at `http://host:port/metrics` (port 0: a free one).

    Raises:
        ConfigError: The address is in use or cannot be bound; the message names the
            setting, the address and what to do.
    """
    from prometheus_client import start_http_server

    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        why = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc})"
        raise ConfigError(
            f"metrics_port={port}: {host}:{port} {why}; pick another --metrics-port "
            "(DGXP_METRICS_PORT) or stop the process that holds it"
        ) from exc
    running = MetricsServer(server, thread, host)
    logger.info("metrics at %s", running.url)
    return running
