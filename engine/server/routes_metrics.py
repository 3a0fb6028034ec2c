"""`/metrics`: the engine's Prometheus families, on the port of its API.

Not a ComfyUI route; a ComfyUI client never calls it. The families are collected on a
worker thread of the event loop's executor, so a scrape neither blocks the loop (websocket
events keep flowing) nor waits for the prompt being executed.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["metrics_routes"]


def metrics_routes(registry: CollectorRegistry) -> list[web.RouteDef]:
    """The `/metrics` route over the engine's own registry."""

    async def get_metrics(request: web.Request) -> web.Response:
        """GET /metrics: the Prometheus text exposition."""
        body = await asyncio.to_thread(generate_latest, registry)
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    return [web.get("/metrics", get_metrics)]
