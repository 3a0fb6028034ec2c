"""The bridge over real sockets: requests from DEALER and REQ clients, events with seq."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack
import zmq
from zmq_helpers import Sockets, StoreService, raw_request

from orchestrator.adapters.zmq.bridge import ZmqBridge


def _dealer(sockets: Sockets, bridge: ZmqBridge) -> zmq.Socket[Any]:
    return sockets.connect(zmq.DEALER, bridge.router_endpoint)


def _body(frames: list[bytes]) -> dict[str, Any]:
    assert frames[0] == b"dgxp/1.0"
    body: dict[str, Any] = msgpack.unpackb(frames[2])
    assert frames[1].decode() == body["type"]
    return body


def test_ping_answers_with_protocol_epoch_and_seq(bridge: ZmqBridge, sockets: Sockets) -> None:
    body = _body(raw_request(_dealer(sockets, bridge), "ping", {"request_id": 9}))
    assert body["request_id"] == 9 and body["request"] == "ping"
    assert body["result"]["protocol"] == "dgxp/1.0" and body["result"]["epoch"] == bridge.epoch


def test_plain_req_client_gets_its_reply(bridge: ZmqBridge, sockets: Sockets) -> None:
    sock = sockets.connect(zmq.REQ, bridge.router_endpoint)
    for _ in range(2):  # REQ enforces send/recv alternation: a second round proves the envelope
        body = _body(raw_request(sock, "list_palettes", {}))
        assert body["result"] == {
            "type": "names",
            "kind": "palettes",
            "names": ["gameboy", "pico-8"],
        }


def test_submit_returns_jobs_and_publishes_queued_with_seq(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService
) -> None:
    sub = sockets.subscriber(bridge.pub_endpoint)
    body = _body(
        raw_request(
            _dealer(sockets, bridge), "submit", {"prompt": "a red potion", "count": 2, "seed": 5}
        )
    )
    jobs = body["result"]["jobs"]
    assert [j["seed"] for j in jobs] == [5, 6] and all(j["state"] == "queued" for j in jobs)
    events: list[dict[str, Any]] = []
    while len(events) < 2:
        assert sub.poll(2000)
        frames = sub.recv_multipart()
        if frames[1] == b"job_queued":
            events.append(msgpack.unpackb(frames[2]))
    assert [e["seq"] for e in events] == [1, 2]
    assert [e["job_id"] for e in events] == [j["id"] for j in jobs]
    assert store_service.store.count() == 2


def test_progress_and_preview_events_carry_job_and_image_frame(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService, sprite_png: Path
) -> None:
    sub = sockets.subscriber(bridge.pub_endpoint)
    body = _body(raw_request(_dealer(sockets, bridge), "submit", {"prompt": "x", "seed": 1}))
    store_service.run(body["result"]["jobs"][0]["id"], steps=2, sprite=sprite_png)
    seen: list[list[bytes]] = []
    while not seen or seen[-1][1] != b"job_succeeded":
        assert sub.poll(2000)
        frames = sub.recv_multipart()
        if frames[1] != b"heartbeat":
            seen.append(frames)
    kinds = [f[1].decode() for f in seen]
    assert kinds == [
        "job_queued",
        "job_started",
        "job_progress",
        "job_progress",
        "job_preview",
        "job_succeeded",
    ]
    bodies = [msgpack.unpackb(f[2]) for f in seen]
    assert [b["seq"] for b in bodies] == [1, 2, 3, 4, 5, 6]
    assert (
        bodies[3]["value"] == 2 and bodies[3]["max"] == 2 and bodies[3]["job"]["progress"] == [2, 2]
    )
    assert len(seen[4]) == 4 and seen[4][3] == sprite_png.read_bytes()
    assert bodies[4]["image_size"] == len(seen[4][3]) and bodies[4]["mime"] == "image/png"
    assert bodies[5]["job"]["state"] == "succeeded"


def test_late_subscriber_reconciles_from_snapshot_and_later_events(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService, sprite_png: Path
) -> None:
    dealer = _dealer(sockets, bridge)
    first = _body(raw_request(dealer, "submit", {"prompt": "early", "seed": 1}))["result"]["jobs"][
        0
    ]
    store_service.run(first["id"], steps=3, sprite=sprite_png)  # all before the subscriber joins
    second = _body(raw_request(dealer, "submit", {"prompt": "late", "seed": 2}))["result"]["jobs"][
        0
    ]

    sub = sockets.subscriber(bridge.pub_endpoint)  # missed every event so far
    snap = _body(raw_request(dealer, "snapshot", {}))["result"]
    jobs = {j["id"]: j for j in snap["jobs"]}
    assert snap["seq"] == 8  # queued, started, 3x progress, preview, succeeded, queued
    assert jobs[first["id"]]["state"] == "succeeded" and jobs[first["id"]]["progress"] == [3, 3]
    assert jobs[second["id"]]["state"] == "queued"

    store_service.cancel(second["id"])
    while True:
        assert sub.poll(2000)
        frames = sub.recv_multipart()
        body = msgpack.unpackb(frames[2])
        if frames[1] != b"heartbeat":
            break
        assert body["seq"] == snap["seq"] and body["epoch"] == snap["epoch"]
    assert frames[1] == b"job_cancelled" and body["seq"] == snap["seq"] + 1  # no gap


def test_get_output_returns_the_sprite_as_a_binary_frame(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService, sprite_png: Path
) -> None:
    dealer = _dealer(sockets, bridge)
    job = _body(raw_request(dealer, "submit", {"prompt": "x"}))["result"]["jobs"][0]
    early = _body(raw_request(dealer, "get_output", {"job_id": job["id"]}))
    assert early["type"] == "error" and early["code"] == "not_found"
    store_service.run(job["id"], steps=1, sprite=sprite_png)
    frames = raw_request(dealer, "get_output", {"job_id": job["id"]})
    assert len(frames) == 4 and frames[3] == sprite_png.read_bytes()
    assert _body(frames)["result"]["png_size"] == len(frames[3])


def test_compare_and_list_jobs_and_retry(bridge: ZmqBridge, sockets: Sockets) -> None:
    dealer = _dealer(sockets, bridge)
    variants = [{"checkpoint": "a.safetensors"}, {"loras": [{"name": "pix", "strength": 0.5}]}]
    jobs = _body(raw_request(dealer, "compare", {"prompt": "cat", "seed": 4, "variants": variants}))
    assert [j["seed"] for j in jobs["result"]["jobs"]] == [4, 4]
    # the service's label rule (model names without extension), in the reply and the jobs
    assert jobs["result"]["labels"] == ["a", "pix"]
    assert [j["params"]["label"] for j in jobs["result"]["jobs"]] == ["a", "pix"]
    listed = _body(raw_request(dealer, "list_jobs", {"state": "queued", "limit": 10}))
    assert len(listed["result"]["jobs"]) == 2
    job_id = listed["result"]["jobs"][0]["id"]
    _body(raw_request(dealer, "cancel", {"job_id": job_id}))
    retried = _body(raw_request(dealer, "retry", {"job_id": job_id}))
    assert retried["result"]["job"]["state"] == "queued"


def test_serve_adapters_start_the_bridge_on_the_configured_endpoints(
    store_service: StoreService, sockets: Sockets, tmp_path: Path
) -> None:
    from orchestrator.adapters.cli.serve import start_adapters, stop_adapters
    from orchestrator.settings import Settings

    settings = Settings(
        zmq_router=f"ipc://{tmp_path}/run/dgxp.req", zmq_pub=f"ipc://{tmp_path}/run/dgxp.pub"
    )
    adapters = start_adapters(store_service, settings)  # type: ignore[arg-type]
    try:
        dealer = sockets.connect(zmq.DEALER, settings.zmq_router)
        assert _body(raw_request(dealer, "ping", {}))["result"]["type"] == "pong"
        sub = sockets.subscriber(settings.zmq_pub)
        assert sub is not None
    finally:
        stop_adapters(adapters)
