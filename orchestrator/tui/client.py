"""An asyncio client of the daemon's ZeroMQ protocol: requests over DEALER, events over SUB.

The TUI's only way to reach the daemon. Requests carry a `request_id` so several can be in
flight; a reader task matches replies to waiting callers. A request that gets no reply in
time closes and reopens the DEALER socket ("lazy pirate"), so a restarted daemon never
receives stale requests, and raises `DaemonUnavailable`. The SUB socket reconnects by
itself inside ZeroMQ.
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

from orchestrator.tui.errors import DaemonRefused, DaemonUnavailable
from orchestrator.zmq_protocol import (
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
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Reply]] = {}
        self._dealer: zmq.asyncio.Socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._sub = self._ctx.socket(zmq.SUB)
        self._sub.setsockopt(zmq.LINGER, 0)
        self._sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._sub.connect(pub)

    # --- requests -------------------------------------------------------------------------

    def _open(self) -> zmq.asyncio.Socket:
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
            model: A request model from `orchestrator.zmq_protocol` (its request_id is set
                here).

        Returns:
            The reply's `result` model and the image frame, if any.

        Raises:
            DaemonUnavailable: No reply within `timeout_s`.
            DaemonRefused: The daemon answered with an error reply.
        """
        request_id = next(self._ids)
        sock = self._open()
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
        """The next event, or None if none arrived within `timeout_s` (daemon silent)."""
        while True:
            if not await self._sub.poll(int(timeout_s * 1000)):
                return None
            frames = await self._sub.recv_multipart()
            try:
                return decode_event(frames)
            except ProtocolError as exc:
                logger.warning("daemon sent an unreadable event: %s", exc.message)

    async def close(self) -> None:
        """Close both sockets and the context."""
        await self._reset()
        self._sub.close(linger=0)
        self._ctx.term()
