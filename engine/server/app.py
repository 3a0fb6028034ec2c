"""The engine's aiohttp application: ComfyUI's routes, each also under `/api`.

`EngineServer` is the composition of one engine: node registry, engine context, prompt
queue, websocket hub, executor and the worker thread; `make_app()` wires them into routes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from engine.context import EngineContext
from engine.graph.executor import PromptExecutor
from engine.graph.registry import NodeRegistry
from engine.node_loading import host_node_classes
from engine.server.hub import SocketHub
from engine.server.metrics import EngineMetrics
from engine.server.middleware import origin_only_middleware
from engine.server.queue import PromptQueue
from engine.server.routes_debug import debug_routes
from engine.server.routes_files import file_routes
from engine.server.routes_info import info_routes
from engine.server.routes_metrics import metrics_routes
from engine.server.routes_prompt import prompt_routes
from engine.server.state import ServerState
from engine.server.worker import PromptWorker
from engine.server.ws import ws_routes

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["EngineServer"]

logger = logging.getLogger(__name__)


class EngineServer:
    """One engine's server-side objects; call `make_app()` once per server."""

    def __init__(
        self,
        registry: NodeRegistry,
        context: EngineContext,
        max_upload_bytes: int,
        metrics_registry: CollectorRegistry,
    ) -> None:
        self.hub = SocketHub()
        self.queue = PromptQueue(on_change=self._broadcast_status)
        # The engine's own registry (never prometheus_client's global one): /metrics.
        self.metrics = EngineMetrics(metrics_registry, queue_depth=self.queue.tasks_remaining)
        context.observer = self.metrics
        self.executor = PromptExecutor(registry, self.hub, host_node_classes(registry))
        self.state = ServerState(
            registry=registry,
            context=context,
            queue=self.queue,
            hub=self.hub,
            executor=self.executor,
            max_upload_bytes=max_upload_bytes,
        )
        self.worker = PromptWorker(
            self.queue,
            self.executor,
            self.hub,
            context,
            self._unload_models,
            timings=self.state.timings,
            metrics=self.metrics,
        )

    def _broadcast_status(self) -> None:
        self.hub.send("status", {"status": self.state.queue_info()}, None)

    def _unload_models(self) -> None:
        models = self.state.context.models
        if models is None:
            return
        from engine.models.cache import ModelCache

        if isinstance(models, ModelCache):
            models.free()

    async def _on_startup(self, app: web.Application) -> None:
        await self.hub.start()
        self.worker.start()

    async def _on_shutdown(self, app: web.Application) -> None:
        # on_shutdown, not on_cleanup: open websockets would otherwise hold the shutdown.
        await asyncio.to_thread(self.worker.stop)
        await self.hub.stop()

    def make_app(self) -> web.Application:
        """The application with every route at `/x` and `/api/x`."""
        app = web.Application(
            client_max_size=self.state.max_upload_bytes, middlewares=[origin_only_middleware]
        )
        routes = [
            *prompt_routes(self.state),
            *file_routes(self.state),
            *info_routes(self.state),
            *ws_routes(self.state),
            *debug_routes(self.state),
            *metrics_routes(self.metrics.registry),
        ]
        for route in routes:
            app.router.add_route(route.method, route.path, route.handler)
            app.router.add_route(route.method, "/api" + route.path, route.handler)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        return app
