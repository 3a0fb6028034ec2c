"""`ping` and `snapshot` replies carry the daemon's figures (`status`): queue depth, img/min,
backends, GPUs and disk, as its status sampler last saw them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack
import zmq
from zmq_helpers import Sockets, StoreService, raw_request

from orchestrator.adapters.zmq.bridge import ZmqBridge
from orchestrator.service.values import GenerationRequest
from orchestrator.wire.zmq_protocol import PongResult, SnapshotResult, WireStatus


def _result(bridge: ZmqBridge, sockets: Sockets, kind: str) -> dict[str, Any]:
    frames = raw_request(sockets.connect(zmq.DEALER, bridge.router_endpoint), kind, {})
    body: dict[str, Any] = msgpack.unpackb(frames[2])
    return body["result"]  # type: ignore[no-any-return]


def test_ping_carries_the_queue_img_rate_and_disk(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService, sprite_png: Path
) -> None:
    first, *_ = store_service.submit(GenerationRequest(prompt="a gem", count=3))
    store_service.run(first.id, 2, sprite_png)
    status = PongResult.model_validate(_result(bridge, sockets, "ping")).status
    assert isinstance(status, WireStatus)
    assert status.queued == 2  # three queued, one ran
    assert status.images_per_minute == 60 / 300  # one sprite in the 5-minute window
    assert status.backends == [] and status.gpus == []
    assert status.gpu_note == "GPU telemetry is off"
    assert status.disk_total_bytes is not None and status.disk_total_bytes > 0


def test_snapshot_carries_the_same_figures(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService
) -> None:
    store_service.submit(GenerationRequest(prompt="a gem"))
    snapshot = SnapshotResult.model_validate(_result(bridge, sockets, "snapshot"))
    assert snapshot.status is not None and snapshot.status.queued == 1
    assert len(snapshot.jobs) == 1
