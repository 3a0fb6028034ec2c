"""`ping` carries the daemon's health: ok, or degraded with each reason and since when."""

from __future__ import annotations

from typing import Any, get_args

import msgpack
import zmq
from zmq_helpers import Sockets, StoreService, raw_request

from orchestrator.adapters.zmq.bridge import ZmqBridge
from orchestrator.service.health import HealthState
from orchestrator.wire.zmq_protocol import PongResult, SnapshotResult, WireHealth


def _pong(bridge: ZmqBridge, sockets: Sockets) -> PongResult:
    frames = raw_request(sockets.connect(zmq.DEALER, bridge.router_endpoint), "ping", {})
    body: dict[str, Any] = msgpack.unpackb(frames[2])
    return PongResult.model_validate(body["result"])


def test_ping_reports_ok_while_nothing_is_wrong(bridge: ZmqBridge, sockets: Sockets) -> None:
    health = _pong(bridge, sockets).health
    assert health is not None
    assert (health.state, health.text, health.problems) == ("ok", "ok", [])


def test_ping_reports_a_degraded_store_then_ok_once_cleared(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService
) -> None:
    store_service.board.report("store", "job store locked", "database is locked")
    health = _pong(bridge, sockets).health
    assert health is not None and health.state == "degraded"
    assert health.text.startswith("degraded: job store locked since ")
    assert health.text.endswith("(database is locked)")
    (problem,) = health.problems
    assert (problem.summary, problem.detail) == ("job store locked", "database is locked")
    assert problem.since == store_service.board.snapshot().problems[0].since

    store_service.board.clear("store")
    cleared = _pong(bridge, sockets).health
    assert cleared is not None and cleared.state == "ok"


def test_wire_health_states_are_the_service_health_states() -> None:
    wire_states = set(get_args(WireHealth.model_fields["state"].annotation))
    assert wire_states == {state.value for state in HealthState}


def test_snapshot_carries_the_same_health_as_ping(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService
) -> None:
    store_service.board.report("store_file", "job store file deleted", "/d/jobs.sqlite3 is gone")
    frames = raw_request(sockets.connect(zmq.DEALER, bridge.router_endpoint), "snapshot", {})
    result = SnapshotResult.model_validate(msgpack.unpackb(frames[2])["result"])
    assert result.health == _pong(bridge, sockets).health
    assert result.health is not None and result.health.state == "degraded"
    assert result.health.problems[0].summary == "job store file deleted"
