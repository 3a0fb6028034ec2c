"""Caps on one request (pixels per batch, images per request, prompt characters) are
refused in the service's admission, so ZMQ and MCP clients meet the same refusal: real ZMQ
sockets and an in-memory `fastmcp.Client` over one service on the real engine. The
defaults are the engine's (engine.limits), read from its public config."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
from fastmcp import Client
from zmq_helpers import Sockets, raw_request

from orchestrator.adapters.mcp import build_mcp_server
from orchestrator.adapters.zmq.bridge import start_bridge
from orchestrator.errors import InvalidRequest
from orchestrator.service import GenerationRequest, Service
from orchestrator.settings import Settings

CAPS = {"max_pixels": 64 * 64 * 2, "max_outputs": 3, "max_prompt_chars": 50}
SMALL = {"steps": 2, "width": 64, "height": 64, "checkpoint": "tiny_sdxl.safetensors"}


@pytest.fixture
def capped(make_service: Callable[..., Service], orch_engine: Any, tmp_path: Path) -> Service:
    return make_service(
        [orch_engine.url],
        start=False,
        zmq_router=f"ipc://{tmp_path}/sock/req",
        zmq_pub=f"ipc://{tmp_path}/sock/pub",
        **CAPS,
    )


@pytest.fixture
def dealer(capped: Service) -> Iterator[zmq.Socket[Any]]:
    bridge = start_bridge(capped, capped.settings)
    sockets = Sockets()
    yield sockets.connect(zmq.DEALER, bridge.router_endpoint)
    sockets.close()
    bridge.stop()


def _error(dealer: zmq.Socket[Any], **body: Any) -> str:
    frames = raw_request(dealer, "submit", {"seed": 1, **body}, timeout_ms=20_000)
    reply = msgpack.unpackb(frames[2])
    assert frames[1] == b"error" and reply["code"] == "invalid_request", reply
    message: str = reply["message"]
    return message


def test_the_defaults_are_the_engines() -> None:
    from engine import EngineConfig

    engine = EngineConfig(base_dir=Path("unused"))
    settings = Settings()
    for name in ("max_pixels", "max_outputs", "max_prompt_chars"):
        assert getattr(settings, name) == getattr(engine, name), name


def test_a_batch_over_the_pixel_cap_is_refused_over_zmq(
    dealer: zmq.Socket[Any], capped: Service
) -> None:
    params = {**SMALL, "width": 128, "height": 128}
    message = _error(dealer, prompt="potion", params=params)
    assert "params.width*height*batch_size='128*128*1'" in message
    assert "16,384 pixels" in message and "8,192" in message and "max_pixels" in message
    assert capped.list_jobs() == []


def test_too_many_images_in_one_request_are_refused_over_zmq(
    dealer: zmq.Socket[Any], capped: Service
) -> None:
    message = _error(dealer, prompt="potion", params=SMALL, count=4)
    assert "count*batch_size='4*1'" in message and "max_outputs" in message and "3" in message
    assert capped.list_jobs() == []


def test_a_long_prompt_is_refused_without_echoing_it(
    dealer: zmq.Socket[Any], capped: Service
) -> None:
    prompt = "x" * 40 + "y" * 11
    message = _error(dealer, prompt=prompt, params=SMALL)
    assert "prompt='<51 characters>'" in message and "50" in message and prompt not in message
    negative = {**SMALL, "negative_prompt": "n" * 60}
    assert "negative_prompt='<60 characters>'" in _error(dealer, prompt="potion", params=negative)
    assert capped.list_jobs() == []


def test_requests_within_the_caps_are_queued(dealer: zmq.Socket[Any], capped: Service) -> None:
    frames = raw_request(
        dealer, "submit", {"prompt": "potion", "seed": 1, "params": SMALL, "count": 3}, 20_000
    )
    assert frames[1] == b"ok", msgpack.unpackb(frames[2])
    assert len(capped.list_jobs()) == 3


async def test_mcp_clients_meet_the_same_caps(capped: Service) -> None:
    server = build_mcp_server(capped, capped.settings)
    async with Client(server) as client:
        big = await client.call_tool(
            "generate_sprite",
            {"prompt": "potion", "params": {**SMALL, "width": 128, "height": 128}, "wait": False},
            raise_on_error=False,
        )
        long = await client.call_tool(
            "generate_sprite", {"prompt": "z" * 51, "params": SMALL}, raise_on_error=False
        )
    assert big.is_error and "max_pixels" in big.content[0].text
    assert long.is_error and "prompt='<51 characters>'" in long.content[0].text
    assert capped.list_jobs() == []


def test_compare_variants_are_capped_like_submit(capped: Service) -> None:
    from orchestrator.service import CompareVariant

    variants = [CompareVariant(label="a"), CompareVariant(label="b")]
    with pytest.raises(InvalidRequest, match="max_prompt_chars"):
        capped.compare("q" * 51, 1, variants, SMALL)
    with pytest.raises(InvalidRequest, match=r"max_pixels"):
        capped.submit(GenerationRequest(prompt="p", params={**SMALL, "width": 256}))
    assert capped.list_jobs() == []
