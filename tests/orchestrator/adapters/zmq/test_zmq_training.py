"""Training over the ZeroMQ bridge (real sockets, a real service with a step trainer):
job_progress events carry the run's report and its sample PNGs, `training_status` answers
the loss curve, `cancel` stops a run, and bad requests are refused by name."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
from train_testkit import StepTrainer, dataset_dir, stub_models, train_service
from zmq_helpers import Sockets, raw_request

from orchestrator.adapters.zmq.bridge import BridgeConfig, ZmqBridge
from orchestrator.jobs import JobState
from orchestrator.service import Service
from orchestrator.service.train_service import TrainJobRequest
from orchestrator.wire.zmq_protocol import JobProgressEvent, decode_event


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    models = stub_models(tmp_path / "models")
    running = train_service(
        models, tmp_path / "data", StepTrainer(step_s=0.02, sample_every=5)
    ).start()
    yield running
    running.stop()


@pytest.fixture
def bridge(service: Service) -> Iterator[ZmqBridge]:
    config = BridgeConfig(router="tcp://127.0.0.1:*", pub="tcp://127.0.0.1:*", heartbeat_s=0.2)
    with ZmqBridge(service, config) as running:
        yield running


def _reply(sock: zmq.Socket[Any], kind: str, body: dict[str, Any]) -> dict[str, Any]:
    frames = raw_request(sock, kind, body)
    reply: dict[str, Any] = msgpack.unpackb(frames[2])
    return reply


def _events_until_final(sub: zmq.Socket[Any], job_id: str) -> list[tuple[Any, bytes | None]]:
    got: list[tuple[Any, bytes | None]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not sub.poll(1000):
            continue
        event, image = decode_event(sub.recv_multipart())
        if getattr(event, "job_id", None) != job_id:
            continue
        got.append((event, image))
        if event.type in ("job_succeeded", "job_failed", "job_cancelled"):
            return got
    raise AssertionError(f"no final event for {job_id}: {[e.type for e, _ in got]}")


def test_progress_events_carry_the_training_report_and_sample_images(
    tmp_path: Path, service: Service, bridge: ZmqBridge, sockets: Sockets
) -> None:
    sub = sockets.subscriber(bridge.pub_endpoint)
    assert sub.poll(3000)  # the first heartbeat: the subscription is live
    sub.recv_multipart()
    job = service.train(
        TrainJobRequest(dataset_dir(tmp_path / "ds"), "knight", steps=10, base="base")
    )
    events = _events_until_final(sub, job.id)
    progress = [(e, img) for e, img in events if isinstance(e, JobProgressEvent)]
    assert [e.train.step for e, _ in progress if e.train] == list(range(1, 11))
    assert all(e.job.kind == "train" for e, _ in events)
    first = progress[0][0].train
    assert first is not None and first.loss == pytest.approx(1.0) and first.total_steps == 10
    assert first.it_per_s == pytest.approx(50.0) and first.eta_s == pytest.approx(9 / 50)
    with_samples = [(e, img) for e, img in progress if img is not None]
    assert [e.train.step for e, _ in with_samples if e.train] == [5, 10]
    for event, image in with_samples:
        assert event.image_size == len(image or b"")
        assert (image or b"").startswith(b"\x89PNG")
    assert events[-1][0].type == "job_succeeded"

    dealer = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    reply = _reply(dealer, "training_status", {"job_id": job.id[:8]})
    status = reply["result"]
    assert (reply["type"], status["type"], status["name"]) == ("ok", "training_status", "knight")
    assert [step for step, _ in status["losses"]] == list(range(1, 11))
    assert status["latest"]["step"] == 10 and len(status["samples"]) == 2
    assert status["result"]["lora_path"].endswith("knight.safetensors")


def test_cancel_over_zmq_stops_a_running_training_job(
    tmp_path: Path, service: Service, bridge: ZmqBridge, sockets: Sockets
) -> None:
    job = service.train(
        TrainJobRequest(dataset_dir(tmp_path / "ds"), "knight", steps=5000, base="base")
    )
    deadline = time.monotonic() + 30
    while service.get_job(job.id).state is not JobState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    dealer = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    reply = _reply(dealer, "cancel", {"job_id": job.id})
    assert reply["result"]["job"]["state"] == "cancelled"
    time.sleep(0.2)
    latest = service.training_status(job.id).latest
    assert latest is not None and latest.step < 5000
    assert not (tmp_path / "models" / "loras").exists()


def test_training_status_of_unknown_or_generate_jobs_is_refused(
    service: Service, bridge: ZmqBridge, sockets: Sockets
) -> None:
    from orchestrator.jobs import NewJob

    dealer = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    missing = _reply(dealer, "training_status", {"job_id": "f" * 32})
    assert (missing["type"], missing["code"]) == ("error", "not_found")
    (job,) = service.store.create([NewJob("single_sprite", {"prompt": "p"}, 1)])
    wrong = _reply(dealer, "training_status", {"job_id": job.id})
    assert (wrong["code"], wrong["request"]) == ("invalid_request", "training_status")
    assert "not a training run" in wrong["message"]
    bad = _reply(dealer, "training_status", {"job_id": 7})
    assert bad["code"] == "invalid_request" and "job_id" in bad["message"]
    assert _reply(dealer, "ping", {})["type"] == "ok"  # still serving
