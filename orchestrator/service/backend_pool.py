"""A pool of ComfyUI-compatible backends: health, dispatch, per-backend figures, backoff.

Backends are real ComfyUI servers (URLs), the embedded engine started in-process
(`engine.runner.start_engine`, which the composition root hands in as a `RunningEngine`),
and the members of named engine groups (`engine://<name>`: `dgx-pixels engine serve
--gpus …`), whose member URLs the pool re-reads at every health check.

Dispatch (`acquire`) follows `dispatch_policy.DispatchPolicy`: the least-loaded healthy
backend (its `/queue` plus our in-flight count) with room under the per-backend in-flight
limit, sticky to the backend that last ran the same checkpoint + LoRA set. When every
backend is at its limit, `acquire` waits for a slot. A health thread polls `/system_stats`
so a dead backend stops receiving work, and workers move its jobs to a live one. Each
backend counts the jobs it finished and failed and their mean time (`dgx-pixels status`,
`/metrics`).
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
from orchestrator.service.dispatch_policy import Candidate, DispatchPolicy
from orchestrator.service.log_limit import RateLimitedLogger
from orchestrator.service.values import BackendInfo

__all__ = [
    "Backend",
    "BackendPool",
    "BackendsBusy",
    "RunningEngineLike",
    "Slot",
    "backoff_delay",
]

logger = logging.getLogger(__name__)

BackendKind = Literal["comfyui", "engine"]
GROUP_SCHEME = "engine://"
_CAPACITY_WAIT_S = 0.5  # how often a worker waiting for a free slot looks again


class BackendsBusy(BackendError):
    """Every healthy backend is at its in-flight limit (and the caller stopped waiting)."""


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
    group: str | None = None  # the engine group that lists it, if any
    last_model: str | None = None  # model key of the last job sent (dispatch_policy)
    done: int = 0  # jobs that finished here
    failed: int = 0  # jobs that failed here or were lost with it
    timed_s: float = 0.0  # seconds of the `timed` jobs, sent to finished
    timed: int = 0

    @property
    def load(self) -> int:
        return self.queue_remaining + self.in_flight

    def candidate(self) -> Candidate:
        return Candidate(self.url, self.load, self.in_flight, self.last_model)

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
            group=self.group,
            last_model=self.last_model,
            done=self.done,
            failed=self.failed,
            mean_job_s=self.timed_s / self.timed if self.timed else None,
        )


class Slot:
    """One job's place on a backend (`BackendPool.acquire`/`hold`): released once, by
    `release()` or by leaving its `with` block, whichever comes first."""

    def __init__(self, pool: BackendPool, backend: Backend) -> None:
        self.pool = pool
        self.backend = backend
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.pool.release(self.backend)

    def __enter__(self) -> Backend:
        return self.backend

    def __exit__(self, *exc: object) -> None:
        self.release()


class BackendPool:
    """Any number of backends behind one dispatch rule.

    Args:
        timeout_s: HTTP timeout for each backend call.
        health_interval_s: Seconds between background health checks.
        policy: The dispatch rule (default: 2 in flight per backend, sticky slack 1).
    """

    def __init__(
        self,
        timeout_s: float = 30.0,
        health_interval_s: float = 5.0,
        policy: DispatchPolicy | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.health_interval_s = health_interval_s
        self.policy = policy or DispatchPolicy()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # notified when a slot frees
        self._backends: dict[str, Backend] = {}
        self._groups: dict[str, Callable[[], Sequence[str]]] = {}
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

    def add_group(self, name: str, members: Callable[[], Sequence[str]]) -> None:
        """Add an engine group (`engine://<name>`): `members()` lists its member URLs now
        and is asked again at every health check, so members that appear later join.

        `members` raises `BackendError` when the group cannot be read (logged, kept).
        """
        with self._lock:
            self._groups[name] = members
        self.refresh_groups()

    @property
    def groups(self) -> list[str]:
        with self._lock:
            return list(self._groups)

    def refresh_groups(self) -> None:
        """Re-read every group: add new members, mark members no longer listed as down."""
        with self._lock:
            groups = list(self._groups.items())
        for name, members in groups:
            try:
                urls = {url.rstrip("/") for url in members()}
            except BackendError as exc:
                self._limited.warning(f"group:{name}", "engine group %s: %s", name, exc)
                continue
            for url in sorted(urls):
                backend = self.add_url(url)
                backend.group = backend.group or name
            for backend in self._snapshot():
                if backend.group == name and backend.url not in urls and backend.healthy:
                    self.mark_unhealthy(backend, f"no longer a member of engine group {name}")

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
        """Probe every backend now (engine groups re-read first)."""
        self.refresh_groups()
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
            self.refresh_groups()
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
        healthy = self._healthy(exclude)
        with self._lock:
            return min(healthy, key=lambda b: b.load)

    def _healthy(self, exclude: Sequence[str], probe: bool = True) -> list[Backend]:
        """The healthy backends not excluded; with `probe`, their queues are read afresh.

        Raises:
            BackendError: None is healthy (names each one and why).
        """
        candidates = [b for b in self._snapshot() if b.url not in exclude]
        if not candidates and self._groups:  # a group may have gained its first members
            self.refresh_groups()
            candidates = [b for b in self._snapshot() if b.url not in exclude]
        for backend in candidates:
            if backend.last_checked is None:  # never probed: learn its health first
                self.check(backend)
        healthy = [b for b in candidates if b.healthy]
        if probe and len(healthy) > 1:  # fresh queue lengths only matter when there is a choice
            healthy = [b for b in healthy if self.check(b)]
        if not healthy:  # everything looked dead: probe once more before giving up
            healthy = [b for b in candidates if self.check(b)]
        if not healthy:
            raise BackendError(self._no_backend_message(candidates))
        return healthy

    def _no_backend_message(self, candidates: Sequence[Backend]) -> str:
        groups = ", ".join(f"{GROUP_SCHEME}{name}" for name in self.groups)
        if not candidates and groups:
            return (
                f"engine group {groups} lists no member yet; start it with "
                "`dgx-pixels engine serve --gpus …` on the same data dir"
            )
        if not candidates:
            return "no backend is configured; pass --backend URL or set DGXP_BACKENDS"
        reasons = "; ".join(f"{b.url}: {b.last_error}" for b in candidates)
        return f"no healthy backend ({reasons}); start one or pass another --backend URL"

    def acquire(
        self,
        model: str | None = None,
        exclude: Sequence[str] = (),
        stopping: Callable[[], bool] = lambda: False,
    ) -> Slot:
        """A slot on the backend the dispatch policy picks for a job whose model key is
        `model`; waits while every healthy backend is at its in-flight limit. The caller
        releases the slot when the job leaves the backend.

        Raises:
            BackendError: No healthy backend (names each one and why).
            BackendsBusy: `stopping()` turned true while every backend was full.
        """
        probe = True
        while True:
            healthy = self._healthy(exclude, probe=probe)
            probe = False  # while waiting, the health thread keeps the figures fresh
            with self._lock:
                by_url = {b.url: b for b in healthy}
                pick = self.policy.pick([b.candidate() for b in healthy], model)
                if pick is not None:
                    backend = by_url[pick.url]
                    backend.in_flight += 1
                    backend.last_model = model if model is not None else backend.last_model
                    return Slot(self, backend)
                if stopping():
                    raise BackendsBusy(
                        f"all {len(healthy)} healthy backend(s) have "
                        f"{self.policy.max_in_flight} job(s) in flight (backend_max_in_flight)"
                    )
                self._room.wait(_CAPACITY_WAIT_S)

    def hold(self, backend: Backend) -> Slot:
        """A slot on `backend` whatever its limit (a pinned or re-attached job)."""
        with self._lock:
            backend.in_flight += 1
        return Slot(self, backend)

    def release(self, backend: Backend) -> None:
        """Give back a slot `acquire` reserved (or `lease` took)."""
        with self._lock:
            backend.in_flight -= 1
            self._room.notify_all()

    def record(self, backend: Backend, succeeded: bool, seconds: float | None = None) -> None:
        """Count a job that left `backend`: finished (`seconds` from send to done, when
        known) or failed/lost there."""
        with self._lock:
            if not succeeded:
                backend.failed += 1
                return
            backend.done += 1
            if seconds is not None:
                backend.timed += 1
                backend.timed_s += seconds

    @contextmanager
    def lease(self, backend: Backend) -> Iterator[Backend]:
        """Count a job as in flight on `backend` while the block runs."""
        with self.hold(backend):
            yield backend

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
