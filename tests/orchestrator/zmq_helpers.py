"""Test helpers for the ZeroMQ bridge: client sockets that always close, and raw requests.

`StoreService` is a minimal Service built from the real `JobStore` and `EventHub`: it
publishes the same events in the same order as the real service and lets a test drive a
job through its states deterministically (no backend, no model), which is what the
seq/snapshot and bad-input tests need.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgpack
import zmq

from orchestrator.errors import TemplateError
from orchestrator.jobs import JobState, JobStore, NewJob
from orchestrator.jobs.models import Job, SpriteFiles
from orchestrator.service.backend_pool import BackendPool
from orchestrator.service.compare import ComparedJob, Comparison, labelled
from orchestrator.service.health import Health, HealthBoard
from orchestrator.service.job_events import EventHub, JobEvent, JobEventKind
from orchestrator.service.remote_paths import Origin
from orchestrator.service.snapshot import DaemonSnapshot
from orchestrator.service.telemetry import ServiceTelemetry
from orchestrator.service.values import CompareVariant, GenerationRequest, ModelInfo


class StoreService:
    """The `Service` API over a real store and hub, without backends."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.hub = EventHub()
        self.board = HealthBoard()  # tests report problems here to see them in ping replies
        # The real status figures over this store (no backend; the sampler is not started,
        # so each status() reads the store now).
        self.telemetry = ServiceTelemetry(
            store, BackendPool(), self.board, self.hub, store.path.parent, interval_s=1.0
        )

    def submit(self, request: GenerationRequest, *, origin: Origin = "local") -> list[Job]:
        request.check()
        seeds = request.seeds()
        jobs = self.store.create([NewJob(request.template, request.to_params(s), s) for s in seeds])
        for job in jobs:
            self.hub.publish(JobEventKind.QUEUED, job.id, job=job)
        return jobs

    def get_job(self, job_id: str) -> Job:
        return self.store.get(job_id)

    def list_jobs(self, state: JobState | None = None, limit: int = 50) -> list[Job]:
        return self.store.list_jobs(state, limit)

    def cancel(self, job_id: str) -> Job:
        current = self.store.get(job_id)
        if current.state is JobState.CANCELLED:  # as Service.cancel: a no-op
            return current
        job = self.store.mark_cancelled(job_id)
        self.hub.publish(JobEventKind.CANCELLED, job_id, job=job, message=job.error or "")
        return job

    def retry(self, job_id: str) -> Job:
        job = self.store.requeue(job_id)
        self.hub.publish(JobEventKind.QUEUED, job_id, job=job)
        return job

    def templates(self) -> list[Any]:
        return []

    def template(self, name: str) -> Any:
        raise TemplateError(f"template={name!r}: this test service has no templates")

    def models(self) -> list[ModelInfo]:
        return [ModelInfo("tiny_sdxl.safetensors", "checkpoints", "http://test", demo=True)]

    def loras(self) -> list[ModelInfo]:
        return [ModelInfo("tiny_lora.safetensors", "loras", "http://test")]

    def palettes(self) -> list[str]:
        return ["gameboy", "pico-8"]

    def compare(
        self,
        prompt: str,
        seed: int,
        variants: Sequence[CompareVariant],
        params: Mapping[str, Any] | None = None,
        *,
        origin: Origin = "local",
    ) -> Comparison:
        variants = labelled(variants)  # the service's label rule, as the real one applies it
        jobs = [
            self.submit(
                GenerationRequest(
                    prompt=prompt, seed=seed, params={**(params or {}), "label": v.label}
                )
            )[0]
            for v in variants
        ]
        return Comparison(tuple(map(ComparedJob, (v.label for v in variants), jobs)))

    def health(self) -> Health:
        return self.board.snapshot()

    def status(self) -> DaemonSnapshot:
        return self.telemetry.latest()

    def subscribe(self, callback: Callable[[JobEvent], None]) -> Callable[[], None]:
        return self.hub.subscribe(callback)

    # --- test drivers: what a worker does to a job ------------------------------------
    def run(self, job_id: str, steps: int, sprite: Path, files: SpriteFiles | None = None) -> Job:
        """Run a job to success with `sprite` (and `files`, when given, as its record)."""
        job = self.store.mark_submitted(job_id, "p-" + job_id[:6], "http://test")
        self.hub.publish(JobEventKind.STARTED, job_id, job=self.store.mark_running(job_id))
        for step in range(1, steps + 1):
            self.store.set_progress(job_id, step, steps)
            self.hub.publish(JobEventKind.PROGRESS, job_id, value=step, maximum=steps)
        self.hub.publish(JobEventKind.PREVIEW, job_id, preview=sprite.read_bytes())
        files = files or SpriteFiles(str(sprite), str(sprite) + ".json")
        job = self.store.mark_succeeded(job_id, [files])
        self.hub.publish(JobEventKind.SUCCEEDED, job_id, job=job)
        return job


class Sockets:
    """Client sockets a test opens; all closed at teardown (unclosed ones warn)."""

    def __init__(self) -> None:
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.opened: list[zmq.Socket[Any]] = []

    def connect(self, kind: int, endpoint: str) -> zmq.Socket[Any]:
        sock: zmq.Socket[Any] = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        if kind == zmq.SUB:
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(endpoint)
        self.opened.append(sock)
        return sock

    def subscriber(self, endpoint: str) -> zmq.Socket[Any]:
        """A SUB socket that has provably joined: it has received one heartbeat."""
        sock = self.connect(zmq.SUB, endpoint)
        assert sock.poll(3000), "no heartbeat from the bridge"
        sock.recv_multipart()
        return sock

    def close(self) -> None:
        for sock in self.opened:
            sock.close(linger=0)
        self.ctx.term()


def raw_request(
    sock: zmq.Socket[Any], kind: str, body: dict[str, Any], timeout_ms: int = 3000
) -> list[bytes]:
    """Send [b"dgxp/1.0", kind, msgpack(body)] and return the reply frames (after any delimiter)."""
    sock.send_multipart([b"dgxp/1.0", kind.encode(), msgpack.packb(body)])
    assert sock.poll(timeout_ms), f"no reply to {kind}"
    return sock.recv_multipart()
