"""The bridge over the real `Service`, which runs the embedded engine on the tiny model."""

from __future__ import annotations

import io
from typing import Any

import msgpack
import zmq
from PIL import Image
from zmq_helpers import Sockets, raw_request

from orchestrator.adapters.zmq.bridge import ZmqBridge
from orchestrator.service import Service

FAST = {"steps": 2, "width": 64, "height": 64, "checkpoint": "tiny_sdxl.safetensors"}


def _ok(sock: zmq.Socket[Any], kind: str, body: dict[str, Any]) -> dict[str, Any]:
    frames = raw_request(sock, kind, body, timeout_ms=20_000)
    reply = msgpack.unpackb(frames[2])
    assert frames[1] == b"ok", reply
    result: dict[str, Any] = reply["result"]
    return result


def test_catalog_requests_reach_the_real_service(
    real_bridge: ZmqBridge, real_service: Service, sockets: Sockets
) -> None:
    dealer = sockets.connect(zmq.DEALER, real_bridge.router_endpoint)
    assert _ok(dealer, "list_models", {})["names"] == ["tiny_sdxl.safetensors"]
    assert _ok(dealer, "list_loras", {})["names"] == ["tiny_lora.safetensors"]
    assert "pico-8" in _ok(dealer, "list_palettes", {})["names"]
    templates = {t["name"]: t for t in _ok(dealer, "list_templates", {})["templates"]}
    assert templates["single_sprite"]["description"]
    params = {p["name"]: p for p in templates["single_sprite"]["params"]}
    assert params["prompt"]["kind"] == "str" and params["steps"]["kind"] == "int"
    assert isinstance(params["steps"]["default"], int)
    for name, template in templates.items():  # every template, every parameter it takes
        wanted = [p.name for p in real_service.template(name).params]
        assert [p["name"] for p in template["params"]] == wanted and wanted


def test_unknown_template_is_refused_and_nothing_is_stored(
    real_bridge: ZmqBridge, real_service: Service, sockets: Sockets
) -> None:
    dealer = sockets.connect(zmq.DEALER, real_bridge.router_endpoint)
    frames = raw_request(dealer, "submit", {"prompt": "x", "template": "nope"}, timeout_ms=20_000)
    reply = msgpack.unpackb(frames[2])
    assert reply["code"] == "invalid_request" and "nope" in reply["message"]
    assert real_service.list_jobs() == []


def test_cancel_and_retry_of_a_queued_job(
    real_bridge: ZmqBridge, real_service: Service, sockets: Sockets
) -> None:
    dealer = sockets.connect(zmq.DEALER, real_bridge.router_endpoint)
    job = _ok(dealer, "submit", {"prompt": "potion", "seed": 3, "params": FAST})["jobs"][0]
    assert _ok(dealer, "cancel", {"job_id": job["id"]})["job"]["state"] == "cancelled"
    # Cancelling a cancelled job is a no-op that answers with the job (not a conflict).
    assert _ok(dealer, "cancel", {"job_id": job["id"]})["job"]["state"] == "cancelled"
    assert _ok(dealer, "retry", {"job_id": job["id"]})["job"]["state"] == "queued"
    assert real_service.get_job(job["id"]).state == "queued"


def test_the_largest_seed_is_queued_and_read_back_exactly(
    real_bridge: ZmqBridge, real_service: Service, sockets: Sockets
) -> None:
    dealer = sockets.connect(zmq.DEALER, real_bridge.router_endpoint)
    body = {"prompt": "potion", "seed": 2**64 - 1, "params": FAST}
    job = _ok(dealer, "submit", body)["jobs"][0]
    assert job["seed"] == 2**64 - 1 == job["params"]["seed"]
    assert _ok(dealer, "get_job", {"job_id": job["id"]})["job"]["seed"] == 2**64 - 1
    assert real_service.get_job(job["id"]).seed == 2**64 - 1
    frames = raw_request(dealer, "submit", {**body, "seed": 2**64 - 1, "count": 2})
    refused = msgpack.unpackb(frames[2])
    assert refused["code"] == "invalid_request" and "count=2" in refused["message"]


def test_compare_takes_the_template_params_and_checks_them(
    real_bridge: ZmqBridge, real_service: Service, sockets: Sockets
) -> None:
    dealer = sockets.connect(zmq.DEALER, real_bridge.router_endpoint)
    variants = [
        {"checkpoint": "tiny_sdxl.safetensors"},
        {"checkpoint": "tiny_sdxl.safetensors", "loras": [{"name": "tiny_lora.safetensors"}]},
    ]
    body = {"prompt": "potion", "seed": 2**64 - 1, "variants": variants, "params": FAST}
    jobs = _ok(dealer, "compare", body)["jobs"]
    assert [(j["params"]["width"], j["params"]["steps"], j["seed"]) for j in jobs] == [
        (64, 2, 2**64 - 1)
    ] * 2
    frames = raw_request(dealer, "compare", {**body, "params": {"steps": 0}})
    refused = msgpack.unpackb(frames[2])
    assert refused["code"] == "invalid_request" and "steps" in refused["message"]
    assert len(real_service.list_jobs()) == 2


def test_a_job_runs_end_to_end_and_a_late_subscriber_reconciles(
    real_bridge: ZmqBridge, real_service: Service, sockets: Sockets
) -> None:
    dealer = sockets.connect(zmq.DEALER, real_bridge.router_endpoint)
    early = sockets.subscriber(real_bridge.pub_endpoint)
    job = _ok(dealer, "submit", {"prompt": "potion", "seed": 1, "params": FAST})["jobs"][0]
    real_service.start()
    seen: list[bytes] = []
    while not seen or seen[-1] != b"job_started":
        assert early.poll(60_000)
        seen.append(early.recv_multipart()[1])

    late = sockets.subscriber(real_bridge.pub_endpoint)  # joins mid-job
    snap = _ok(dealer, "snapshot", {})
    last = snap["seq"]
    state = {j["id"]: j for j in snap["jobs"]}[job["id"]]["state"]
    while state not in ("succeeded", "failed"):
        assert late.poll(60_000)
        frames = late.recv_multipart()
        body = msgpack.unpackb(frames[2])
        if frames[1] == b"heartbeat" or body["seq"] <= last:
            continue
        assert body["seq"] == last + 1
        last, state = body["seq"], body["job"]["state"]
    assert state == "succeeded"

    frames = raw_request(dealer, "get_output", {"job_id": job["id"]})
    assert len(frames) == 4
    sprite = Image.open(io.BytesIO(frames[3]))
    assert sprite.format == "PNG" and sprite.mode == "RGBA"
