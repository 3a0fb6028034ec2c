"""The ZeroMQ adapter of the daemon: a ROUTER for requests and a PUB for job events.

`dgx-pixels serve` starts one through `start_bridge(service, settings)`. One I/O
thread owns both sockets (ZeroMQ sockets are not thread-safe); `Service` calls run on a
small thread pool so a slow request never stalls other clients or the event stream, and
their replies come back to the I/O thread through a queue. Service events arrive on
worker threads the same way.

The bridge keeps a bounded table of the jobs it has published, updated only on the I/O
thread as each event goes out, so a `snapshot` reply (jobs + `seq`) is exactly the state
after event `seq`: a late subscriber applies only events with a higher seq.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from orchestrator.adapters.zmq.handlers import (
    SERVICE_REQUEST_TYPES,
    BridgeService,
    HandlerOutcome,
    handle_request,
    wire_health,
    wire_job,
    wire_status,
)
from orchestrator.errors import DGXPixelsError
from orchestrator.service.job_events import JobEvent, JobEventKind
from orchestrator.service.log_limit import RateLimitedLogger
from orchestrator.settings import Settings
from orchestrator.wire.train_view import train_progress_view
from orchestrator.wire.zmq_protocol import (
    JOB_EVENT_MODELS,
    MAX_BODY_BYTES,
    MAX_PNG_BYTES,
    PROTOCOL_FRAME,
    ErrorCode,
    ErrorReply,
    HeartbeatEvent,
    JobPreviewEvent,
    JobProgressEvent,
    OkReply,
    PongResult,
    ProtocolError,
    Request,
    SnapshotResult,
    WireJob,
    decode_request,
    encode_message,
)

__all__ = ["BridgeBindError", "BridgeConfig", "ZmqBridge", "start_bridge"]

logger = logging.getLogger(__name__)


class BridgeBindError(DGXPixelsError):
    """An endpoint of the bridge cannot be bound (in use, bad address, no permission)."""


@dataclass(frozen=True)
class BridgeConfig:
    """Tunables of the bridge.

    Attributes:
        router: Endpoint the ROUTER binds (`tcp://host:port`, `ipc:///path`; port `*` = any).
        pub: Endpoint the PUB binds.
        heartbeat_s: Interval of `heartbeat` events on the PUB socket.
        workers: Threads running Service calls.
        table_size: Most jobs a `snapshot` returns (the least recently updated drop out).
        max_message_bytes: Peers sending a bigger frame are disconnected by ZeroMQ itself.
    """

    router: str = "tcp://127.0.0.1:5555"
    pub: str = "tcp://127.0.0.1:5556"
    heartbeat_s: float = 1.0
    workers: int = 4
    table_size: int = 500
    max_message_bytes: int = 4 * MAX_BODY_BYTES


@dataclass(frozen=True)
class _Outgoing:
    envelope: list[bytes]
    outcome: HandlerOutcome


class ZmqBridge:
    """Serve the `dgxp/1` protocol for one `Service` until `stop()`.

    Args:
        service: The use-case API every request goes to.
        config: Endpoints and tunables.
        context: A ZeroMQ context to share (default: a new one, terminated on stop).
    """

    def __init__(
        self, service: BridgeService, config: BridgeConfig, context: zmq.Context[Any] | None = None
    ) -> None:
        self._service = service
        self._config = config
        self._own_context = context is None
        self._ctx: zmq.Context[Any] = context or zmq.Context()
        self._inbox: queue.SimpleQueue[JobEvent | _Outgoing | None] = queue.SimpleQueue()
        self._wake_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(config.workers, thread_name_prefix="zmq-request")
        self._jobs: OrderedDict[str, WireJob] = OrderedDict()
        self._seq = 0
        self.epoch = secrets.token_hex(8)
        self._limited = RateLimitedLogger(logger)  # a stuck client would repeat its warning
        self._thread: threading.Thread | None = None
        self._unsubscribe: Any = None
        self.router_endpoint = ""
        self.pub_endpoint = ""

    @property
    def config(self) -> BridgeConfig:
        """The endpoints and tunables it was built with (`*_endpoint` hold the bound ones)."""
        return self._config

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Bind both sockets (raising here if an endpoint is taken) and start serving."""
        self._router = self._ctx.socket(zmq.ROUTER)
        self._router.setsockopt(zmq.ROUTER_MANDATORY, 1)  # a vanished client -> log, not hang
        self._router.setsockopt(zmq.MAXMSGSIZE, self._config.max_message_bytes)
        self._router.setsockopt(zmq.LINGER, 0)
        self._pub = self._ctx.socket(zmq.PUB)
        self._pub.setsockopt(zmq.SNDHWM, 10_000)
        self._pub.setsockopt(zmq.LINGER, 0)
        self._wake_rx = self._ctx.socket(zmq.PULL)
        self._wake_tx = self._ctx.socket(zmq.PUSH)
        wake = f"inproc://dgxp-bridge-wake-{id(self)}"
        try:
            self._router.bind(self._config.router)
            self._pub.bind(self._config.pub)
        except zmq.ZMQError:
            self._close_sockets()
            raise
        self._wake_rx.bind(wake)
        self._wake_tx.connect(wake)
        self.router_endpoint = self._router.getsockopt_string(zmq.LAST_ENDPOINT)
        self.pub_endpoint = self._pub.getsockopt_string(zmq.LAST_ENDPOINT)
        self._unsubscribe = self._service.subscribe(self._on_event)
        for job in reversed(self._service.list_jobs(None, self._config.table_size)):
            self._remember(wire_job(job))
        self._thread = threading.Thread(target=self._serve, name="zmq-bridge", daemon=True)
        self._thread.start()
        logger.info(
            "zmq bridge: requests on %s, events on %s", self.router_endpoint, self.pub_endpoint
        )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving: unsubscribe, let running requests finish, close sockets."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._thread is not None:
            self._post(None)
            self._thread.join(timeout_s)
            self._thread = None
        if self._own_context:
            self._ctx.term()

    def __enter__(self) -> ZmqBridge:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- cross-thread hand-off ------------------------------------------------------------

    def _post(self, item: JobEvent | _Outgoing | None) -> None:
        self._inbox.put(item)
        # The PUSH socket is shared by worker threads, hence the lock; Again means wake-ups
        # are already pending and the I/O thread will drain the inbox anyway. An event that
        # raced `stop()` past the unsubscribe finds it closed: nobody is left to wake, and
        # sending on it would raise ENOTSOCK ("Socket operation on non-socket").
        with self._wake_lock, contextlib.suppress(zmq.Again):
            if not self._wake_tx.closed:
                self._wake_tx.send(b"", zmq.NOBLOCK)

    def _on_event(self, event: JobEvent) -> None:
        # Runs on the publishing worker thread: hand off, never block it.
        self._post(event)

    # --- the I/O loop ---------------------------------------------------------------------

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._wake_rx, zmq.POLLIN)
        next_beat = time.monotonic()
        running = True
        while running:
            timeout_ms = max(0, int((next_beat - time.monotonic()) * 1000))
            ready = dict(poller.poll(timeout_ms))
            if self._router in ready:
                self._drain_router()
            if self._wake_rx in ready:
                running = self._drain_inbox()
            if time.monotonic() >= next_beat:
                beat = HeartbeatEvent(seq=self._seq, time=time.time(), epoch=self.epoch)
                _guarded("heartbeat", self._publish, beat)
                next_beat = time.monotonic() + self._config.heartbeat_s
        self._close_sockets()

    def _close_sockets(self) -> None:
        for sock in (self._router, self._pub, self._wake_rx):
            sock.close(linger=0)
        with self._wake_lock:  # worker threads send on it under this lock: never mid-send
            self._wake_tx.close(linger=0)

    def _drain_router(self) -> None:
        while True:
            try:
                frames = self._router.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            _guarded("request", self._on_request, frames)

    def _drain_inbox(self) -> bool:
        while True:
            try:
                self._wake_rx.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return True
            if item is None:
                return False
            # Each item on its own: one failure must not strand the ones queued behind it.
            if isinstance(item, _Outgoing):
                _guarded("reply", self._send_reply, item.envelope, item.outcome)
            else:
                _guarded(f"event for job {item.job_id}", self._publish_job_event, item)

    # --- requests -------------------------------------------------------------------------

    def _on_request(self, frames: list[bytes]) -> None:
        # ROUTER prepends the peer identity; REQ peers add an empty delimiter we must echo.
        envelope, payload = frames[:1], frames[1:]
        if payload and payload[0] == b"":
            envelope, payload = frames[:2], frames[2:]
        try:
            request = decode_request(payload)
        except ProtocolError as exc:
            logger.info("zmq: refused a malformed request: %s", exc.message)
            reply = ErrorReply(
                code=exc.code, message=exc.message, supported=[PROTOCOL_FRAME.decode()]
            )
            self._send_reply(envelope, HandlerOutcome(reply))
            return
        if request.type in SERVICE_REQUEST_TYPES:
            try:
                future = self._pool.submit(handle_request, self._service, request)
            except RuntimeError:  # the pool is shut down: stop() is under way
                self._send_reply(envelope, HandlerOutcome(_shutting_down(request)))
                return
            future.add_done_callback(lambda f: self._post(_Outgoing(envelope, _result(f))))
            return
        self._send_reply(envelope, HandlerOutcome(self._local_reply(request)))

    def _local_reply(self, request: Request) -> OkReply:
        # ping and snapshot read only bridge state and the service's health snapshot, so
        # they answer inline on the I/O thread.
        now = time.time()
        health = wire_health(self._service.health())  # a snapshot: cheap, never blocks
        status = wire_status(self._service.status())  # the sampler's latest figures
        result: PongResult | SnapshotResult
        if request.type == "ping":
            result = PongResult(
                seq=self._seq, server_time=now, epoch=self.epoch, health=health, status=status
            )
        else:
            jobs = list(reversed(self._jobs.values()))
            result = SnapshotResult(
                seq=self._seq,
                server_time=now,
                epoch=self.epoch,
                jobs=jobs,
                health=health,
                status=status,
            )
        return OkReply(request_id=request.request_id, request=request.type, result=result)

    def _send_reply(self, envelope: list[bytes], outcome: HandlerOutcome) -> None:
        frames = envelope + encode_message(outcome.reply, outcome.image)
        try:
            self._router.send_multipart(frames, zmq.NOBLOCK)
        except zmq.ZMQError as exc:  # EHOSTUNREACH: the client left; EAGAIN: it stopped reading
            self._limited.warning(
                "reply-dropped",
                "zmq: reply to a client that is gone or not reading dropped (%s)",
                exc,
            )

    # --- events ---------------------------------------------------------------------------

    def _remember(self, job: WireJob) -> None:
        self._jobs[job.id] = job
        self._jobs.move_to_end(job.id)
        while len(self._jobs) > self._config.table_size:
            self._jobs.popitem(last=False)

    def _job_for(self, event: JobEvent) -> WireJob:
        if event.job is not None:
            return wire_job(event.job)
        known = self._jobs.get(event.job_id)
        if known is None:  # a job from before this bridge started: one quick store read
            known = wire_job(self._service.get_job(event.job_id))
        if event.kind is JobEventKind.PROGRESS:
            known = known.model_copy(update={"progress": (event.value, event.max)})
        return known

    def _publish_job_event(self, event: JobEvent) -> None:
        job = self._job_for(event)
        self._remember(job)
        self._seq += 1
        common: dict[str, Any] = {
            "seq": self._seq,
            "time": event.timestamp,
            "job_id": event.job_id,
            "job": job,
            "message": event.message or None,
        }
        if event.kind is JobEventKind.PROGRESS:
            self._publish_progress(event, common)
        elif event.kind is JobEventKind.PREVIEW:
            image = event.preview_png or b""
            mime = event.preview_mime or "image/png"
            self._publish(JobPreviewEvent(**common, image_size=len(image), mime=mime), image)
        else:
            self._publish(JOB_EVENT_MODELS[event.kind](**common))

    def _publish_progress(self, event: JobEvent, common: dict[str, Any]) -> None:
        """Sampler progress, or a training report with its sample image (if any) attached."""
        if event.train is None:
            self._publish(JobProgressEvent(**common, value=event.value, max=event.max))
            return
        image = _sample_png(event.train.sample)
        self._publish(
            JobProgressEvent(
                **common,
                value=event.value,
                max=event.max,
                train=train_progress_view(event.train),
                image_size=None if image is None else len(image),
            ),
            image,
        )

    def _publish(self, model: Any, image: bytes | None = None) -> None:
        self._pub.send_multipart(encode_message(model, image), zmq.NOBLOCK)


def _sample_png(path: Path | None) -> bytes | None:
    """A training sample's bytes for the event's image frame (None: none, gone or too big)."""
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_PNG_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _guarded(what: str, step: Callable[..., None], *args: Any) -> None:
    """Run one step of the I/O loop; log a failure and keep serving."""
    try:
        step(*args)
    except Exception:  # outer edge of the server loop: log and keep serving
        logger.exception("zmq bridge: %s failed; still serving", what)


def _result(future: Future[HandlerOutcome]) -> HandlerOutcome:
    # handle_request never raises; a cancelled future (shutdown) still gets an answer.
    if future.cancelled():
        return HandlerOutcome(_shutting_down())
    return future.result()


def _shutting_down(request: Request | None = None) -> ErrorReply:
    return ErrorReply(
        request_id=request.request_id if request else None,
        request=request.type if request else None,
        code=ErrorCode.UNAVAILABLE,
        message="the daemon is shutting down; retry once it is back",
    )


def _ipc_dir(endpoint: str) -> None:
    # ipc:// needs its folder; ZeroMQ would fail with a bare "No such file or directory".
    if endpoint.startswith("ipc://"):
        Path(endpoint.removeprefix("ipc://")).parent.mkdir(parents=True, exist_ok=True)


def start_bridge(service: BridgeService, settings: Settings) -> ZmqBridge:
    """The `serve` adapter: bind `settings.zmq_router` / `settings.zmq_pub` and serve.

    Raises:
        BridgeBindError: An endpoint is taken or invalid (the message names the setting).
    """
    config = BridgeConfig(router=settings.zmq_router, pub=settings.zmq_pub)
    for endpoint in (config.router, config.pub):
        _ipc_dir(endpoint)
    bridge = ZmqBridge(service, config)
    try:
        bridge.start()
    except zmq.ZMQError as exc:
        bridge.stop()
        raise BridgeBindError(
            f"zmq_router={config.router!r} / zmq_pub={config.pub!r}: cannot bind ({exc}); "
            "is another daemon running? Set DGXP_ZMQ_ROUTER / DGXP_ZMQ_PUB to free endpoints"
        ) from exc
    return bridge
