"""DaemonClient closed while other tasks still wait on its sockets (real pyzmq, no mocks).

Closing a socket under a pending poll/recv made pyzmq finish that call on a closed socket
and raise `ZMQError(ENOTSOCK)` "Socket operation on non-socket" into the TUI's sync
worker; these tests close the client at every point of that window.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from orchestrator.adapters.tui.daemon_client import DaemonClient
from orchestrator.adapters.tui.errors import DaemonUnavailable
from orchestrator.wire.zmq_protocol import HeartbeatEvent, PingRequest, encode_message


@pytest.fixture
def publisher(tmp_path: Path) -> Iterator[tuple[str, zmq.Socket[Any]]]:
    """A bare PUB socket standing in for the daemon's event stream."""
    ctx: zmq.Context[Any] = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    endpoint = f"ipc://{tmp_path}/pub"
    pub.bind(endpoint)
    yield endpoint, pub
    pub.close(linger=0)
    ctx.term()


def _beat(seq: int) -> list[bytes]:
    return encode_message(HeartbeatEvent(seq=seq, time=time.time(), epoch="e"))


async def _joined(client: DaemonClient, pub: zmq.Socket[Any]) -> None:
    # A SUB only gets messages once its subscription reached the PUB: beat until one lands.
    for seq in range(100):
        pub.send_multipart(_beat(seq))
        if await client.next_event(0.05) is not None:
            return
    pytest.fail("the client never joined the publisher")


@pytest.mark.parametrize("yields", range(8))
async def test_close_at_any_point_of_a_pending_event_wait_never_raises_enotsock(
    publisher: tuple[str, zmq.Socket[Any]], tmp_path: Path, yields: int
) -> None:
    endpoint, pub = publisher
    client = DaemonClient(f"ipc://{tmp_path}/req", endpoint, timeout_s=0.2)
    await _joined(client, pub)
    pub.send_multipart(_beat(1000))
    await asyncio.sleep(0.05)  # the event is queued: the wait below completes in a few steps
    waiter = asyncio.ensure_future(client.next_event(5.0))
    for _ in range(yields):  # close at each loop step between "readable" and "received"
        await asyncio.sleep(0)
    await client.close()
    try:
        got = await waiter
    except DaemonUnavailable as exc:
        assert "closed" in str(exc)
    else:
        assert got is not None and got[0].seq == 1000


async def test_a_wait_cut_short_by_close_raises_unavailable_not_cancelled(
    publisher: tuple[str, zmq.Socket[Any]], tmp_path: Path
) -> None:
    endpoint, _ = publisher
    client = DaemonClient(f"ipc://{tmp_path}/req", endpoint)
    waiter = asyncio.ensure_future(client.next_event(5.0))
    await asyncio.sleep(0.05)
    await client.close()
    with pytest.raises(DaemonUnavailable, match="closed"):
        await waiter
    assert not waiter.cancelled()


async def test_cancelling_the_caller_still_cancels_its_event_wait(
    publisher: tuple[str, zmq.Socket[Any]], tmp_path: Path
) -> None:
    endpoint, _ = publisher
    client = DaemonClient(f"ipc://{tmp_path}/req", endpoint)
    try:
        waiter = asyncio.ensure_future(client.next_event(5.0))
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert await client.next_event(0.01) is None  # the SUB socket is still usable
    finally:
        await client.close()


async def test_requests_in_flight_and_after_close_raise_unavailable(tmp_path: Path) -> None:
    # No daemon: the requests wait for replies that never come, and some time out (their
    # reset races close()) while close() runs; close must neither hang nor leak ZMQError.
    client = DaemonClient(f"ipc://{tmp_path}/req", f"ipc://{tmp_path}/pub", timeout_s=0.05)
    waiting = [asyncio.ensure_future(client.request(PingRequest())) for _ in range(4)]
    await asyncio.sleep(0.05)
    await asyncio.wait_for(client.close(), 5.0)
    for request in waiting:
        with pytest.raises(DaemonUnavailable):
            await request
    with pytest.raises(DaemonUnavailable, match="closed"):
        await client.request(PingRequest())
    with pytest.raises(DaemonUnavailable, match="closed"):
        await client.next_event(0.01)
    await client.close()  # twice is harmless
    assert client.closed
