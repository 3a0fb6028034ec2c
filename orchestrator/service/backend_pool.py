"""A pool of ComfyUI-compatible backends: health, least-loaded dispatch, retry backoff.

Backends are real ComfyUI servers (URLs) and/or the embedded engine started in-process
(`engine.runner.start_engine`, which the composition root hands in as a `RunningEngine`).
Dispatch picks the healthy backend with the shortest `/queue` plus our own in-flight count;
a health thread polls `/system_stats` so a dead backend stops receiving work, and workers
move its jobs to a live one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from orchestrator.comfy.client import ComfyClient
from orchestrator.comfy.errors import ComfyError
from orchestrator.errors import BackendError, InvalidRequest
from orchestrator.service.log_limit import RateLimitedLogger
from orchestrator.service.values import BackendInfo

__all__ = ["Backend", "BackendPool", "RunningEngineLike", "backoff_delay"]

logger = logging.getLogger(__name__)

BackendKind = Literal["comfyui", "engine"]


class RunningEngineLike(Protocol):
    """What the pool needs of `engine.runner.RunningEngine`."""

    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...


def backoff_delay(attempt: int, base_s: float = 0.5, cap_s: float = 10.0) -> float:
    """Exponential backoff before retry number `attempt` (1-based): 0.5, 1, 2, 4 … ≤ cap."""
    return float(min(cap_s, base_s * 2 ** max(0, attempt - 1)))


@dataclass
class Backend:
    """One backend and what the pool knows about it (mutated under the pool's lock)."""

    url: str
    client: ComfyClient
    kind: BackendKind = "comfyui"  # what a URL is until its /system_stats says "engine"
    engine: RunningEngineLike | None = None
    healthy: bool = True
    queue_remaining: int = 0
    in_flight: int = 0
    last_error: str | None = None
    last_checked: float | None = None
    devices: tuple[str, ...] = field(default=())

    @property
    def load(self) -> int:
        return self.queue_remaining + self.in_flight

    def info(self) -> BackendInfo:
        return BackendInfo(
            url=self.url,
            healthy=self.healthy,
            queue_remaining=self.queue_remaining,
            in_flight=self.in_flight,
            kind=self.kind,
            last_error=self.last_error,
            last_checked=self.last_checked,
            devices=self.devices,
        )


class BackendPool:
    """Any number of backends behind one dispatch rule.

    Args:
        timeout_s: HTTP timeout for each backend call.
        health_interval_s: Seconds between background health checks.
    """

    def __init__(self, timeout_s: float = 30.0, health_interval_s: float = 5.0) -> None:
        self.timeout_s = timeout_s
        self.health_interval_s = health_interval_s
        self._lock = threading.Lock()
        self._backends: dict[str, Backend] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._limited = RateLimitedLogger(logger)  # a flapping backend goes down again and again
        # Told each health check's URL and duration (the daemon's metrics); None: nobody.
        self.checked: Callable[[str, float], None] | None = None

    # --- membership -------------------------------------------------------------------------
    def add_url(self, url: str) -> Backend:
        """Add a ComfyUI (or `engine serve`) server by URL.

        Raises:
            InvalidRequest: The URL is not http(s).
        """
        try:
            client = ComfyClient(url, timeout=self.timeout_s)
        except ValueError as exc:
            raise InvalidRequest("backend", url, "must be an http:// or https:// URL") from exc
        return self._add(Backend(url=client.base_url, client=client))

    def add_engine(self, engine: RunningEngineLike) -> Backend:
        """Add the in-process engine; the pool stops it on `close()`."""
        client = ComfyClient(engine.url, timeout=self.timeout_s)
        return self._add(Backend(url=client.base_url, client=client, kind="engine", engine=engine))

    def _add(self, backend: Backend) -> Backend:
        with self._lock:
            if backend.url in self._backends:
                backend.client.close()
                return self._backends[backend.url]
            self._backends[backend.url] = backend
        return backend

    @property
    def urls(self) -> list[str]:
        with self._lock:
            return list(self._backends)

    def get(self, url: str) -> Backend:
        """The backend with this URL.

        Raises:
            InvalidRequest: Not in the pool (lists the URLs that are).
        """
        with self._lock:
            backend = self._backends.get(url.rstrip("/"))
            if backend is None:
                known = ", ".join(self._backends) or "none"
                raise InvalidRequest("backend", url, f"not in the pool (known: {known})")
            return backend

    def infos(self) -> list[BackendInfo]:
        """Health snapshot of every backend."""
        with self._lock:
            return [b.info() for b in self._backends.values()]

    # --- health -----------------------------------------------------------------------------
    def check(self, backend: Backend) -> bool:
        """Probe one backend (`/system_stats` then `/queue`); record and return its health."""
        began = time.monotonic()
        try:
            stats = backend.client.system_stats()
            queue = backend.client.queue()
        except ComfyError as exc:
            self._timed(backend, began)
            self.mark_unhealthy(backend, str(exc))
            return False
        self._timed(backend, began)
        with self._lock:
            was_down = not backend.healthy
            backend.healthy = True
            backend.last_error = None
            backend.queue_remaining = queue.load
            backend.last_checked = time.time()
            backend.devices = tuple(str(d.get("name", "?")) for d in stats.devices)
            if stats.is_embedded_engine:  # `engine serve` by URL is the engine, not ComfyUI
                backend.kind = "engine"
        if was_down:
            logger.info("backend %s is healthy again", backend.url)
        return True

    def _timed(self, backend: Backend, began: float) -> None:
        if self.checked is not None:
            self.checked(backend.url, time.monotonic() - began)

    def check_all(self) -> list[BackendInfo]:
        """Probe every backend now."""
        for backend in self._snapshot():
            self.check(backend)
        return self.infos()

    def mark_unhealthy(self, backend: Backend, reason: str) -> None:
        """Stop dispatching to `backend` until a health check succeeds."""
        with self._lock:
            was_up = backend.healthy
            backend.healthy = False
            backend.last_error = reason
            backend.last_checked = time.time()
        if was_up:
            self._limited.warning(
                f"down:{backend.url}", "backend %s is down: %s", backend.url, reason
            )

    def _snapshot(self) -> list[Backend]:
        with self._lock:
            return list(self._backends.values())

    def start(self) -> None:
        """Start the background health thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._health_loop, name="dgxp-health", daemon=True)
        self._thread.start()

    def _health_loop(self) -> None:
        while not self._stop.wait(self.health_interval_s):
            for backend in self._snapshot():
                self.check(backend)

    def close(self) -> None:
        """Stop health checks, close clients, stop the in-process engines."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.health_interval_s + self.timeout_s)
            self._thread = None
        for backend in self._snapshot():
            backend.client.close()
            if backend.engine is not None:
                backend.engine.stop()

    # --- dispatch ---------------------------------------------------------------------------
    def choose(self, pinned: str | None = None, exclude: Sequence[str] = ()) -> Backend:
        """The least-loaded healthy backend (or the pinned one, if healthy).

        Raises:
            BackendError: No healthy backend (names each one and why).
        """
        if pinned is not None:
            backend = self.get(pinned)
            if (backend.healthy and backend.last_checked is not None) or self.check(backend):
                return backend
            raise BackendError(f"backend {pinned} is unhealthy: {backend.last_error}")
        candidates = [b for b in self._snapshot() if b.url not in exclude]
        for backend in candidates:
            if backend.last_checked is None:  # never probed: learn its health first
                self.check(backend)
        healthy = [b for b in candidates if b.healthy]
        if len(healthy) > 1:  # fresh queue lengths only matter when there is a choice
            healthy = [b for b in healthy if self.check(b)]
        if not healthy:  # everything looked dead: probe once more before giving up
            healthy = [b for b in candidates if self.check(b)]
        if not healthy:
            raise BackendError(self._no_backend_message(candidates))
        with self._lock:
            return min(healthy, key=lambda b: b.load)

    @staticmethod
    def _no_backend_message(candidates: Sequence[Backend]) -> str:
        if not candidates:
            return "no backend is configured; pass --backend URL or set DGXP_BACKENDS"
        reasons = "; ".join(f"{b.url}: {b.last_error}" for b in candidates)
        return f"no healthy backend ({reasons}); start one or pass another --backend URL"

    @contextmanager
    def lease(self, backend: Backend) -> Iterator[Backend]:
        """Count a job as in flight on `backend` while the block runs."""
        with self._lock:
            backend.in_flight += 1
        try:
            yield backend
        finally:
            with self._lock:
                backend.in_flight -= 1

    def any_client(self) -> ComfyClient:
        """A client of some healthy backend (for model lists, object_info).

        Raises:
            BackendError: None is healthy.
        """
        return self.choose().client

    def __repr__(self) -> str:
        return f"BackendPool({self.urls!r})"

    def describe(self) -> dict[str, Any]:
        """Plain-dict view for logs and JSON output."""
        return {b.url: b.info().__dict__ for b in self._snapshot()}
