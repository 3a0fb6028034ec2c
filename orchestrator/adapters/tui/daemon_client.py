"""An asyncio client of the daemon's ZeroMQ protocol: requests over DEALER, events over SUB.

The TUI's only way to reach the daemon. Requests carry a `request_id` so several can be in
flight; a reader task matches replies to waiting callers. A request that gets no reply in
time closes and reopens the DEALER socket ("lazy pirate"), so a restarted daemon never
receives stale requests, and raises `DaemonUnavailable`. The SUB socket reconnects by
itself inside ZeroMQ.

Socket lifecycle: a socket is closed only after every task that may still touch it has
finished. The DEALER belongs to its reader task (cancelled and awaited before the close);
each `next_event` runs its SUB poll/recv as a tracked task that `close()` cancels and
awaits before closing SUB. Closing a socket under a pending poll/recv makes pyzmq finish
that poll on a closed socket: `ZMQError(ENOTSOCK)`, "Socket operation on non-socket".
Resets and `close()` take one lock, so the context is terminated only once every socket
is closed, and a closed client raises `DaemonUnavailable` instead of touching a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

import zmq
import zmq.asyncio
from pydantic import BaseModel

from orchestrator.adapters.tui.errors import DaemonRefused, DaemonUnavailable
from orchestrator.wire.zmq_protocol import (
    ErrorReply,
    OkReply,
    ProtocolError,
    decode_event,
    decode_reply,
    encode_message,
)

__all__ = ["DaemonClient", "Reply"]

logger = logging.getLogger(__name__)

Reply = tuple[Any, bytes | None]


class DaemonClient:
    """Talk to one daemon.

    Args:
        router: The daemon's request endpoint (Settings `zmq_router`).
        pub: The daemon's event endpoint (Settings `zmq_pub`).
        timeout_s: How long a request waits for its reply.
    """

    def __init__(self, router: str, pub: str, timeout_s: float = 2.0) -> None:
        self.router = router
        self.pub = pub
        self.timeout_s = timeout_s
        self._ctx = zmq.asyncio.Context()
        self._closed = False
        # Serialises resets and close(): the context is terminated only after they finish.
        self._lifecycle = asyncio.Lock()
        self._sub_ops: set[asyncio.Task[tuple[Any, bytes | None] | None]] = set()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Reply]] = {}
        self._dealer: zmq.asyncio.Socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._sub = self._ctx.socket(zmq.SUB)
        self._sub.setsockopt(zmq.LINGER, 0)
        self._sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._sub.connect(pub)

    @property
    def closed(self) -> bool:
        """True once `close()` has started: every later call raises `DaemonUnavailable`."""
        return self._closed

    # --- requests -------------------------------------------------------------------------

    def _closed_error(self) -> DaemonUnavailable:
        return DaemonUnavailable(
            f"the client of the daemon at {self.router} is closed; build a new DaemonClient"
        )

    def _open(self) -> zmq.asyncio.Socket:
        if self._closed:
            raise self._closed_error()
        if self._dealer is None:
            sock = self._ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self.router)
            self._dealer = sock
            self._reader = asyncio.get_running_loop().create_task(self._read(sock))
        return self._dealer

    async def _read(self, sock: zmq.asyncio.Socket) -> None:
        while True:
            frames = await sock.recv_multipart()
            try:
                reply, image = decode_reply(frames)
            except ProtocolError as exc:
                logger.warning("daemon sent an unreadable reply: %s", exc.message)
                continue
            rid = reply.request_id
            future = self._pending.get(rid) if isinstance(rid, int) else None
            if future is not None and not future.done():
                future.set_result((reply, image))

    async def _reset(self) -> None:
        # Drop the socket so a restarted daemon never sees requests queued for the old one.
        async with self._lifecycle:
            await self._drop_dealer()

    async def _drop_dealer(self) -> None:
        # The caller holds `_lifecycle`. Only the reader task receives on the DEALER, so
        # once it has finished nothing can touch the socket and closing it is safe.
        reader, sock = self._reader, self._dealer
        self._reader, self._dealer = None, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if sock is not None:
            sock.close(linger=0)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(DaemonUnavailable("the connection to the daemon was reset"))

    async def request(self, model: BaseModel) -> Reply:
        """Send one request and wait for its result.

        Args:
            model: A request model from `orchestrator.wire.zmq_protocol` (its request_id is set
                here).

        Returns:
            The reply's `result` model and the image frame, if any.

        Raises:
            DaemonUnavailable: No reply within `timeout_s`, or the client is closed.
            DaemonRefused: The daemon answered with an error reply.
        """
        sock = self._open()
        request_id = next(self._ids)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await sock.send_multipart(
                encode_message(model.model_copy(update={"request_id": request_id}))
            )
            reply, image = await asyncio.wait_for(future, self.timeout_s)
        except TimeoutError as exc:
            await self._reset()
            raise DaemonUnavailable(
                f"no reply from the daemon at {self.router} within {self.timeout_s:g}s; "
                "is `dgx-pixels serve` running?"
            ) from exc
        finally:
            self._pending.pop(request_id, None)
        if isinstance(reply, ErrorReply):
            raise DaemonRefused(str(reply.code), reply.message)
        assert isinstance(reply, OkReply)
        return reply.result, image

    # --- events ---------------------------------------------------------------------------

    async def next_event(self, timeout_s: float) -> tuple[Any, bytes | None] | None:
        """The next event, or None if none arrived within `timeout_s` (daemon silent).

        Raises:
            DaemonUnavailable: The client is closed (also when `close()` runs meanwhile).
        """
        if self._closed:
            raise self._closed_error()
        # The poll/recv runs as a task that close() can cancel and await before it closes
        # the SUB socket; the caller's own cancellation still reaches it through the await.
        op = asyncio.get_running_loop().create_task(self._receive_event(timeout_s))
        self._sub_ops.add(op)
        op.add_done_callback(self._sub_ops.discard)
        try:
            return await op
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._closed and not (current is not None and current.cancelling()):
                raise self._closed_error() from None
            raise

    async def _receive_event(self, timeout_s: float) -> tuple[Any, bytes | None] | None:
        while True:
            if not await self._sub.poll(int(timeout_s * 1000)):
                return None
            frames = await self._sub.recv_multipart()
            try:
                return decode_event(frames)
            except ProtocolError as exc:
                logger.warning("daemon sent an unreadable event: %s", exc.message)

    async def close(self) -> None:
        """Close both sockets and the context; pending calls raise `DaemonUnavailable`.

        Safe to call while other tasks wait in `request` or `next_event`, and more than once.
        """
        if self._closed:
            return
        self._closed = True
        async with self._lifecycle:
            ops = list(self._sub_ops)
            for op in ops:
                op.cancel()
            await asyncio.gather(*ops, return_exceptions=True)
            await self._drop_dealer()
            self._sub.close(linger=0)
            self._ctx.term()
