"""Backends that are not there, or answer garbage: clear errors that name the URL.

The garbage backend is a real aiohttp server on an ephemeral port (not a mock): it answers
HTML, JSON of the wrong shape, or closes the WebSocket at once.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from aiohttp import web

from orchestrator.comfy import (
    BackendProtocolError,
    BackendUnreachable,
    ComfyClient,
    EventStream,
    run_prompt,
)
from orchestrator.comfy.errors import EventStreamClosed


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _html(request: web.Request) -> web.Response:
    return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")


async def _wrong_shape(request: web.Request) -> web.Response:
    return web.json_response(["not", "an", "object"])


async def _ws_then_close(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_str("not json at all")
    await ws.close()
    return ws


def _garbage_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/ws", _ws_then_close)
    app.router.add_route("*", "/shape/{tail:.*}", _wrong_shape)
    app.router.add_route("*", "/{tail:.*}", _html)
    return app


@pytest.fixture(scope="module")
def garbage_url() -> Iterator[str]:
    """A real HTTP server that is not ComfyUI."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_garbage_app())
    ready = threading.Event()
    holder: dict[str, int] = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        holder["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10), "garbage server did not start"
    yield f"http://127.0.0.1:{holder['port']}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_unreachable_backend_names_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with ComfyClient(url, timeout=2) as client, pytest.raises(BackendUnreachable) as err:
        client.system_stats()
    assert f"{url}/system_stats" in str(err.value)
    assert "is the backend running" in str(err.value)
    assert err.value.url == f"{url}/system_stats"


def test_unreachable_event_stream_names_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(BackendUnreachable, match=r"ws://127\.0\.0\.1:\d+/ws\?clientId=abc"):
        EventStream(url, "abc", connect_timeout=2).connect()


def test_run_prompt_on_unreachable_backend_sends_nothing_and_says_where() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with (
        ComfyClient(url, timeout=2) as client,
        pytest.raises(BackendUnreachable, match=r"127\.0\.0\.1"),
    ):
        run_prompt(client, {"1": {"class_type": "X", "inputs": {}}})


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.system_stats(),
        lambda c: c.object_info(),
        lambda c: c.history("p1"),
        lambda c: c.queue(),
        lambda c: c.models("checkpoints"),
        lambda c: c.submit({"1": {}}, "cid"),
        lambda c: c.upload_image(b"x", name="a.png"),
    ],
    ids=["system_stats", "object_info", "history", "queue", "models", "submit", "upload"],
)
def test_non_json_answer_is_a_protocol_error_naming_the_url(garbage_url: str, call: object) -> None:
    with ComfyClient(garbage_url, timeout=5) as client, pytest.raises(BackendProtocolError) as err:
        call(client)  # type: ignore[operator]
    assert garbage_url in str(err.value)
    assert "non-JSON" in str(err.value)


def test_wrong_shape_is_a_protocol_error(garbage_url: str) -> None:
    with ComfyClient(f"{garbage_url}/shape", timeout=5) as client:
        with pytest.raises(BackendProtocolError, match="answered list, not an object"):
            client.system_stats()
        with pytest.raises(BackendProtocolError, match="answered list, not an object"):
            client.object_info()


def test_garbage_event_stream_is_a_protocol_error(garbage_url: str) -> None:
    with EventStream(garbage_url, "abc", receive_timeout=5) as stream:
        with pytest.raises(BackendProtocolError, match="non-JSON text frame"):
            stream.receive()
        with pytest.raises(EventStreamClosed, match="closed"):
            stream.receive()


def test_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="base_url must start with http"):
        ComfyClient("127.0.0.1:8188")
