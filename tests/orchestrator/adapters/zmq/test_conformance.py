"""Conformance of the running bridge to docs/zmq-protocol.md.

Written from the document only: raw pyzmq sockets and msgpack, no import of the project's
protocol module or client. Section numbers refer to the document.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
from zmq_helpers import Sockets, StoreService

from orchestrator.adapters.zmq.bridge import ZmqBridge

PROTO = b"dgxp/1.0"
JOB_KEYS = {
    "id": str,
    "state": str,
    "template": str,
    "prompt": str,
    "params": dict,
    "seed": int,
    "created_at": float,
    "outputs": list,
    "progress": list,
    "attempts": int,
    "retryable": bool,
}
OPTIONAL_JOB_KEYS = ("backend", "prompt_id", "started_at", "finished_at", "error", "batch_id")


def call(
    sock: zmq.Socket[Any], kind: str, body: dict[str, Any]
) -> tuple[bytes, dict[str, Any], list[bytes]]:
    sock.send_multipart([PROTO, kind.encode("ascii"), msgpack.packb(body, use_bin_type=True)])
    assert sock.poll(3000), f"no reply to {kind}"
    frames = sock.recv_multipart()
    assert frames[0] == PROTO  # §2: replies carry the daemon's own protocol frame
    reply = msgpack.unpackb(frames[2], raw=False)
    assert isinstance(reply, dict) and reply["type"] == frames[1].decode("ascii")
    return frames[1], reply, frames


def ok(sock: zmq.Socket[Any], kind: str, body: dict[str, Any]) -> dict[str, Any]:
    status, reply, _ = call(sock, kind, body)
    assert status == b"ok", reply
    assert reply["request"] == kind
    result: dict[str, Any] = reply["result"]
    return result


def assert_job(job: dict[str, Any]) -> None:  # §5 Job record
    for key, kind in JOB_KEYS.items():
        assert isinstance(job[key], kind), (key, job[key])
    for key in OPTIONAL_JOB_KEYS:
        assert key in job
    assert job["state"] in {"queued", "submitted", "running", "succeeded", "failed", "cancelled"}
    assert len(job["progress"]) == 2


@pytest.fixture
def dealer(bridge: ZmqBridge, sockets: Sockets) -> zmq.Socket[Any]:
    return sockets.connect(zmq.DEALER, bridge.router_endpoint)


def test_s6_ping_result_shape(dealer: zmq.Socket[Any]) -> None:
    _, reply, frames = call(dealer, "ping", {"request_id": "abc"})
    assert len(frames) == 3 and reply["request_id"] == "abc"
    pong = reply["result"]
    assert pong["type"] == "pong" and pong["protocol"] == "dgxp/1.0"
    assert len(pong["epoch"]) == 16 and int(pong["epoch"], 16) >= 0
    assert isinstance(pong["seq"], int) and isinstance(pong["server_time"], float)


def test_s6_submit_defaults_and_job_record(dealer: zmq.Socket[Any]) -> None:
    result = ok(dealer, "submit", {"prompt": "a red potion", "seed": 2**40 + 5, "size": [32, 32]})
    assert result["type"] == "jobs" and len(result["jobs"]) == 1
    job = result["jobs"][0]
    assert_job(job)
    assert job["state"] == "queued" and job["template"] == "single_sprite"
    assert job["seed"] == 2**40 + 5 and job["prompt"] == "a red potion"
    assert ok(dealer, "get_job", {"job_id": job["id"]})["job"]["id"] == job["id"]


def test_s6_every_listing_request(dealer: zmq.Socket[Any]) -> None:
    for kind in ("models", "loras", "palettes"):
        names = ok(dealer, f"list_{kind}", {})
        assert names["type"] == "names" and names["kind"] == kind
        assert all(isinstance(n, str) for n in names["names"])
    assert ok(dealer, "list_templates", {})["type"] == "templates"
    assert ok(dealer, "list_jobs", {"limit": 5})["type"] == "jobs"


def test_s6_compare_one_job_per_variant_same_seed(dealer: zmq.Socket[Any]) -> None:
    variants = [
        {"checkpoint": "a.safetensors"},
        {"label": "B", "loras": [{"name": "l"}]},
        {"checkpoint": "c"},
    ]
    jobs = ok(dealer, "compare", {"prompt": "knight", "seed": 11, "variants": variants})["jobs"]
    assert len(jobs) == 3 and {j["seed"] for j in jobs} == {11}


def test_s6_cancel_then_retry(dealer: zmq.Socket[Any]) -> None:
    job = ok(dealer, "submit", {"prompt": "x"})["jobs"][0]
    assert ok(dealer, "cancel", {"job_id": job["id"]})["job"]["state"] == "cancelled"
    assert ok(dealer, "retry", {"job_id": job["id"]})["job"]["state"] == "queued"


def test_s6_get_output_sends_png_as_frame_3(
    dealer: zmq.Socket[Any], store_service: StoreService, sprite_png: Path
) -> None:
    job = ok(dealer, "submit", {"prompt": "x"})["jobs"][0]
    store_service.run(job["id"], steps=1, sprite=sprite_png)
    status, reply, frames = call(dealer, "get_output", {"job_id": job["id"]})
    assert status == b"ok" and len(frames) == 4
    assert frames[3][:8] == b"\x89PNG\r\n\x1a\n"
    assert reply["result"]["png_size"] == len(frames[3]) and reply["result"]["index"] == 0


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([PROTO, b"ping"], "bad_frames"),
        ([b"nonsense", b"ping", b"\x80"], "bad_protocol"),
        ([b"dgxp/3.1", b"ping", b"\x80"], "unsupported_version"),
        ([PROTO, b"frobnicate", b"\x80"], "unknown_type"),
        ([PROTO, b"ping", b"\x80\x01"], "bad_body"),
        ([PROTO, b"ping", msgpack.packb("not a map")], "bad_body"),
        ([PROTO, b"ping", msgpack.packb({"type": "cancel"})], "bad_body"),
        ([PROTO, b"submit", msgpack.packb({"count": 1})], "invalid_request"),
        ([PROTO, b"list_jobs", msgpack.packb({"limit": 0})], "invalid_request"),
        ([PROTO, b"cancel", msgpack.packb({"job_id": "0" * 32})], "not_found"),
        ([PROTO, b"submit", msgpack.packb({"prompt": "x" * (1 << 20)})], "body_too_large"),
    ],
)
def test_s7_error_codes(dealer: zmq.Socket[Any], frames: list[bytes], code: str) -> None:
    dealer.send_multipart(frames)
    assert dealer.poll(3000)
    reply_frames = dealer.recv_multipart()
    assert reply_frames[:2] == [PROTO, b"error"]
    reply = msgpack.unpackb(reply_frames[2])
    assert reply["code"] == code and reply["message"]
    assert set(reply) >= {"type", "request_id", "request", "code", "message", "supported"}


def test_s4_unsupported_major_lists_supported_and_newer_minor_is_served(
    dealer: zmq.Socket[Any],
) -> None:
    dealer.send_multipart([b"dgxp/2.0", b"ping", msgpack.packb({})])
    assert dealer.poll(3000)
    reply = msgpack.unpackb(dealer.recv_multipart()[2])
    assert reply["supported"] == ["dgxp/1.0"]
    dealer.send_multipart([b"dgxp/1.9", b"ping", msgpack.packb({"future": True})])
    assert dealer.poll(3000) and dealer.recv_multipart()[1] == b"ok"


def test_s1_req_client_and_dealer_with_delimiter(bridge: ZmqBridge, sockets: Sockets) -> None:
    req = sockets.connect(zmq.REQ, bridge.router_endpoint)
    assert ok(req, "ping", {})["type"] == "pong"
    dealer = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    dealer.send_multipart([b"", PROTO, b"ping", msgpack.packb({})])
    assert dealer.poll(3000)
    frames = dealer.recv_multipart()
    assert frames[0] == b"" and frames[1:3] == [PROTO, b"ok"]


def test_s8_s9_events_heartbeat_seq_and_snapshot(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService, sprite_png: Path
) -> None:
    sub = sockets.connect(zmq.SUB, bridge.pub_endpoint)  # subscribed to "" by the helper
    assert sub.poll(3000)  # §9 step 1: the first message proves the subscription
    first = sub.recv_multipart()
    assert first[:2] == [PROTO, b"heartbeat"]
    beat = msgpack.unpackb(first[2])
    assert set(beat) >= {"type", "epoch", "seq", "time"} and "job_id" not in beat

    dealer = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    snap = ok(dealer, "snapshot", {})
    assert snap["type"] == "snapshot" and snap["epoch"] == beat["epoch"]
    last = snap["seq"]
    job = ok(dealer, "submit", {"prompt": "x", "seed": 1})["jobs"][0]
    store_service.run(job["id"], steps=2, sprite=sprite_png)

    seen: list[str] = []
    deadline = time.monotonic() + 5
    while "job_succeeded" not in seen and time.monotonic() < deadline:
        assert sub.poll(3000)
        frames = sub.recv_multipart()
        body = msgpack.unpackb(frames[2])
        assert frames[0] == PROTO and body["type"] == frames[1].decode()
        if body["type"] == "heartbeat":
            assert body["seq"] == last  # heartbeats never run ahead without a gap
            continue
        assert body["seq"] == last + 1  # §9: +1 per job event, no gap on a quiet loopback
        last = body["seq"]
        assert body["job_id"] == job["id"] and set(body) >= {"time", "job", "message"}
        assert_job(body["job"])
        if body["type"] == "job_progress":
            assert body["job"]["progress"] == [body["value"], body["max"]]
        if body["type"] == "job_preview":
            assert len(frames) == 4 and len(frames[3]) == body["image_size"]
            assert body["mime"] == "image/png"
        else:
            assert len(frames) == 3
        seen.append(body["type"])
    assert seen == [
        "job_queued",
        "job_started",
        "job_progress",
        "job_progress",
        "job_preview",
        "job_succeeded",
    ]
    later = ok(dealer, "snapshot", {})
    assert later["seq"] == last
    assert [j["state"] for j in later["jobs"] if j["id"] == job["id"]] == ["succeeded"]
