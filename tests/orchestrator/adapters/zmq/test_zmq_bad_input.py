"""Bad input at the bridge: an error reply where one is possible, the bridge keeps serving
others, and no stored job is lost."""

from __future__ import annotations

import time
from typing import Any

import msgpack
import pytest
import zmq
from zmq_helpers import Sockets, StoreService, raw_request

from orchestrator.adapters.zmq.bridge import ZmqBridge
from orchestrator.wire.zmq_protocol import MAX_BODY_BYTES


def _error(frames: list[bytes]) -> dict[str, Any]:
    assert frames[:2] == [b"dgxp/1.0", b"error"], frames[:2]
    body: dict[str, Any] = msgpack.unpackb(frames[2])
    assert body["type"] == "error"
    return body


def _still_serving(sockets: Sockets, bridge: ZmqBridge) -> None:
    other = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    assert raw_request(other, "ping", {})[1] == b"ok"


@pytest.mark.parametrize(
    ("frames", "code", "needle"),
    [
        ([b"\x00\xff garbage"], "bad_frames", "1 frames"),
        ([b"dgxp/1.0", b"ping"], "bad_frames", "2 frames"),
        ([b"dgxp/1.0", b"ping", b"\x80", b"x", b"y"], "bad_frames", "5 frames"),
        ([b"zmtp/3.0", b"ping", b"\x80"], "bad_protocol", "zmtp"),
        ([b"dgxp/2.0", b"ping", b"\x80"], "unsupported_version", "version=2.0"),
        ([b"dgxp/1.0", b"self_destruct", b"\x80"], "unknown_type", "self_destruct"),
        ([b"dgxp/1.0", b"ping", b"\xc1\xc1"], "bad_body", "msgpack"),
        ([b"dgxp/1.0", b"get_job", msgpack.packb({"job_id": 5})], "invalid_request", "job_id"),
        ([b"dgxp/1.0", b"get_job", msgpack.packb({"job_id": "nope"})], "not_found", "nope"),
    ],
)
def test_bad_request_gets_a_named_error_and_the_bridge_keeps_serving(
    bridge: ZmqBridge, sockets: Sockets, frames: list[bytes], code: str, needle: str
) -> None:
    sock = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    sock.send_multipart(frames)
    assert sock.poll(3000)
    body = _error(sock.recv_multipart())
    assert body["code"] == code and needle in body["message"]
    _still_serving(sockets, bridge)


def test_unsupported_version_reply_lists_the_supported_protocol(
    bridge: ZmqBridge, sockets: Sockets
) -> None:
    sock = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    body = _error(_send(sock, [b"dgxp/9.1", b"ping", b"\x80"]))
    assert body["supported"] == ["dgxp/1.0"]


def _send(sock: zmq.Socket[Any], frames: list[bytes]) -> list[bytes]:
    sock.send_multipart(frames)
    assert sock.poll(3000)
    return sock.recv_multipart()


def test_oversized_body_is_refused_with_the_limit(bridge: ZmqBridge, sockets: Sockets) -> None:
    sock = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    big = msgpack.packb({"prompt": "x" * (MAX_BODY_BYTES + 10)})
    body = _error(_send(sock, [b"dgxp/1.0", b"submit", big]))
    assert body["code"] == "body_too_large" and str(MAX_BODY_BYTES) in body["message"]


def test_garbage_from_a_req_client_still_gets_a_reply_it_can_read(
    bridge: ZmqBridge, sockets: Sockets
) -> None:
    sock = sockets.connect(zmq.REQ, bridge.router_endpoint)
    assert _error(_send(sock, [b"hello?"]))["code"] == "bad_frames"
    assert raw_request(sock, "ping", {})[1] == b"ok"  # REQ state machine intact


def test_cancel_of_a_finished_job_is_a_conflict_and_the_job_is_untouched(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService
) -> None:
    sock = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    job_id = msgpack.unpackb(raw_request(sock, "submit", {"prompt": "x", "seed": 3})[2])["result"][
        "jobs"
    ][0]["id"]
    assert (
        msgpack.unpackb(raw_request(sock, "cancel", {"job_id": job_id})[2])["result"]["job"][
            "state"
        ]
        == "cancelled"
    )
    cancelled = store_service.store.get(job_id)
    again = msgpack.unpackb(raw_request(sock, "cancel", {"job_id": job_id})[2])["result"]["job"]
    assert again["state"] == "cancelled"  # cancelling a cancelled job is a no-op
    assert store_service.store.get(job_id) == cancelled
    store_service.store.requeue(job_id)
    store_service.store.mark_submitted(job_id, "p", "http://127.0.0.1:9")
    done = store_service.store.mark_succeeded(job_id, [])
    body = _error(raw_request(sock, "cancel", {"job_id": job_id}))
    assert body["code"] == "conflict" and job_id in body["message"]
    assert store_service.store.get(job_id) == done


def test_client_that_vanishes_mid_request_loses_no_job(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService
) -> None:
    gone = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    gone.send_multipart([b"dgxp/1.0", b"submit", msgpack.packb({"prompt": "orphan", "seed": 1})])
    gone.close(linger=100)  # gone before the reply can arrive
    deadline = time.monotonic() + 3
    while store_service.store.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    _still_serving(sockets, bridge)
    jobs = store_service.store.list_jobs()
    assert [j.params["prompt"] for j in jobs] == ["orphan"]


def test_many_clients_at_once_each_get_their_own_reply(bridge: ZmqBridge, sockets: Sockets) -> None:
    clients = [sockets.connect(zmq.DEALER, bridge.router_endpoint) for _ in range(8)]
    for i, sock in enumerate(clients):
        sock.send_multipart(
            [b"dgxp/1.0", b"submit", msgpack.packb({"prompt": f"p{i}", "request_id": i})]
        )
    for i, sock in enumerate(clients):
        assert sock.poll(3000)
        body = msgpack.unpackb(sock.recv_multipart()[2])
        assert body["request_id"] == i and body["result"]["jobs"][0]["prompt"] == f"p{i}"


def test_stop_closes_the_endpoints_and_keeps_jobs(
    store_service: StoreService, sockets: Sockets
) -> None:
    from orchestrator.adapters.zmq.bridge import BridgeConfig

    config = BridgeConfig(router="tcp://127.0.0.1:*", pub="tcp://127.0.0.1:*")
    bridge = ZmqBridge(store_service, config)
    bridge.start()
    sock = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    raw_request(sock, "submit", {"prompt": "kept"})
    bridge.stop()
    sock.send_multipart([b"dgxp/1.0", b"ping", b"\x80"])
    assert not sock.poll(300)  # nobody answers any more
    assert store_service.store.count() == 1
    # the endpoint is free again: a new bridge can bind the same address
    again = ZmqBridge(
        store_service, BridgeConfig(router=bridge.router_endpoint, pub="tcp://127.0.0.1:*")
    )
    again.start()
    again.stop()


def test_taken_endpoint_is_a_bind_error_naming_the_settings(
    bridge: ZmqBridge, store_service: StoreService, sockets: Sockets
) -> None:
    from orchestrator.adapters.zmq.bridge import BridgeBindError, start_bridge
    from orchestrator.settings import Settings

    settings = Settings(zmq_router=bridge.router_endpoint, zmq_pub="tcp://127.0.0.1:*")
    with pytest.raises(BridgeBindError, match=r"zmq_router=.*DGXP_ZMQ_ROUTER"):
        start_bridge(store_service, settings)
    _still_serving(sockets, bridge)


def test_an_event_for_an_unknown_job_is_logged_and_the_stream_goes_on(
    bridge: ZmqBridge,
    sockets: Sockets,
    store_service: StoreService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from orchestrator.service.job_events import JobEventKind

    sub = sockets.subscriber(bridge.pub_endpoint)
    store_service.hub.publish(JobEventKind.PROGRESS, "no-such-job", value=1, maximum=2)
    dealer = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    assert raw_request(dealer, "submit", {"prompt": "after"})[1] == b"ok"
    while True:
        assert sub.poll(3000)
        frames = sub.recv_multipart()
        if frames[1] != b"heartbeat":
            break
    assert frames[1] == b"job_queued" and msgpack.unpackb(frames[2])["seq"] == 1  # no hole
    assert "no-such-job" in caplog.text


def test_a_frame_over_the_hard_limit_drops_only_that_peer(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService
) -> None:
    hog = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    hog.send_multipart([b"dgxp/1.0", b"submit", b"\x00" * (5 << 20)])
    assert not hog.poll(300)  # ZeroMQ disconnects it; there is no reply to give
    _still_serving(sockets, bridge)
    assert store_service.store.count() == 0
