"""The daemon's Prometheus endpoint: `http://HOST:PORT/metrics` for one registry."""

from __future__ import annotations

from orchestrator.adapters.metrics.exporter import MetricsServer, start_metrics_server

__all__ = ["MetricsServer", "start_metrics_server"]
