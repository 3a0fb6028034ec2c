"""Running one job end to end on the backend pool, and re-attaching after a restart.

`JobRunner.run(job)` is the numbered story of a job: render the template, pick a backend,
validate the graph against its `/object_info`, record `submitted` (with our own prompt id)
*before* sending, send, follow the events, collect the files, record `succeeded`. Because
the prompt id is stored before the POST, a restarted service can always find the prompt
again (`reattach`) — collected once if done, followed if still running, resubmitted if the
backend lost it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.comfy.client import ComfyClient
from orchestrator.comfy.errors import (
    BackendProtocolError,
    BackendUnreachable,
    ComfyError,
    PromptRejected,
)
from orchestrator.comfy.models import HistoryEntry
from orchestrator.comfy.ws import EventStream
from orchestrator.errors import BackendError, InvalidRequest, JobStateError
from orchestrator.jobs.models import Job
from orchestrator.jobs.states import JobState
from orchestrator.jobs.store import JobStore
from orchestrator.service.backend_pool import Backend, BackendPool, Slot, backoff_delay
from orchestrator.service.dispatch_policy import model_key
from orchestrator.service.follow import (
    FollowHooks,
    PromptCancelled,
    PromptDetached,
    PromptLost,
    PromptTimedOut,
    follow_prompt,
    lost_or_done,
)
from orchestrator.service.job_events import EventHub, JobEventKind
from orchestrator.service.leases import LeaseKeeper
from orchestrator.service.log_context import job_context
from orchestrator.service.log_limit import RateLimitedLogger
from orchestrator.service.outputs import FileHasher, RenderedImage, collect_outputs
from orchestrator.service.pnginfo import submit_extra_data
from orchestrator.workflows import TemplateLibrary, WorkflowError, validate_against_object_info

__all__ = ["CancelRegistry", "JobRunner", "RunnerConfig"]

logger = logging.getLogger(__name__)

_STORE_CANCEL_CHECK_S = 1.0  # how often a followed job looks for a cancel by another process


class CancelRegistry:
    """Job ids whose cancellation a worker must act on (interrupt the backend, stop)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[str] = set()

    def request(self, job_id: str) -> None:
        with self._lock:
            self._ids.add(job_id)

    def requested(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._ids

    def clear(self, job_id: str) -> None:
        with self._lock:
            self._ids.discard(job_id)


@dataclass(frozen=True)
class RunnerConfig:
    """Paths and limits the runner needs from the settings."""

    out_dir: Path
    models_dir: Path | None
    job_timeout_s: float
    max_attempts: int


def model_files(graph: Mapping[str, Any]) -> dict[str, str]:
    """`{file name: folder}` for every checkpoint and LoRA the graph loads."""
    found: dict[str, str] = {}
    for node in graph.values():
        inputs = node.get("inputs", {}) if isinstance(node, dict) else {}
        for key, folder in (("ckpt_name", "checkpoints"), ("lora_name", "loras")):
            if isinstance(inputs.get(key), str):
                found[inputs[key]] = folder
    return found


class JobRunner:
    """Runs jobs on the pool and reports through the store and the event hub."""

    def __init__(
        self,
        store: JobStore,
        pool: BackendPool,
        hub: EventHub,
        library: TemplateLibrary,
        config: RunnerConfig,
        cancels: CancelRegistry,
        hasher: FileHasher,
        leases: LeaseKeeper | None = None,
        delivered: Callable[[Job, float], None] | None = None,
    ) -> None:
        self.store = store
        self.pool = pool
        self.hub = hub
        self.library = library
        self.config = config
        self.cancels = cancels
        self.hasher = hasher
        self.leases = leases
        self.delivered = delivered  # told how long a succeeded job's files took (metrics)
        self.stopping = threading.Event()
        self._local = threading.local()
        self._limited = RateLimitedLogger(logger)  # workers waiting for a backend repeat it

    # --- the story of one job -------------------------------------------------------------
    def run(self, job: Job, worker: str) -> None:
        """Run a claimed, queued job to a final state (or back to the queue on a lost backend)."""
        # 1. Render the template with the stored values (checked at submit; re-checked here).
        try:
            graph = self.library.get(job.template).render(job.params)
        except WorkflowError as exc:
            self._fail(job.id, f"template {job.template!r}: {exc}", retryable=False)
            return
        # Model digests for the sidecar are read while the backend loads and samples, so
        # hashing a 7 GB checkpoint never sits on the job's path.
        self.hasher.prefetch(self._model_paths(graph).values())
        # 2. Pick a backend (one the job asked for, if it did; else by the dispatch policy,
        #    waiting for a free slot); none healthy: give the job back and wait.
        try:
            slot = self._choose(job, model_key(model_files(graph)))
        except InvalidRequest as exc:  # a stored URL that is not http(s): it never will be
            self._fail(job.id, str(exc), retryable=False)
            return
        except BackendError as exc:
            if time.time() - job.created_at > self.config.job_timeout_s:
                self._fail(job.id, f"no backend to run it on: {exc}", retryable=True)
                return
            self._limited.warning("no-backend", "job %s: %s; will retry", job.short_id, exc)
            self.store.release(job.id, worker)
            time.sleep(backoff_delay(2))
            return
        with slot:  # the slot is held until the job leaves the backend (or fails here)
            self._send(job, slot, graph)

    def _send(self, job: Job, slot: Slot, graph: dict[str, Any]) -> None:
        """Steps 3 to 5 of `run` on the backend `slot` holds."""
        backend = slot.backend
        # 3. Validate against what this backend can run; nothing is sent if it does not fit.
        try:
            object_info = self._validate(graph, backend)
        except WorkflowError as exc:
            self._fail(job.id, f"backend {backend.url}: {exc}", retryable=False)
            return
        except ComfyError as exc:
            self._backend_lost(job, backend, exc)
            return
        # 4. Record the attempt with our own prompt id (and our lease) *before* sending it.
        lease = self.leases.lease() if self.leases else None
        try:
            job = self.store.mark_submitted(job.id, uuid.uuid4().hex, backend.url, lease)
        except JobStateError:  # cancelled meanwhile
            return
        # 5. Send with the graph's UI twin for the PNGs (`extra_pnginfo.workflow`), follow.
        self._execute(job, slot, (graph, submit_extra_data(job.id, graph, object_info)))

    def _choose(self, job: Job, model: str) -> Slot:
        """A slot on the backend to run `job` on: one it asked for (added to this process's
        pool if the pool does not know it), else the one the dispatch policy picks among
        those it allows (waiting while all of them are at their in-flight limit).

        Raises:
            InvalidRequest: An asked-for URL is not http(s).
            BackendError: None of the candidates is healthy.
        """
        wanted = [self.pool.add_url(url).url for url in job.wanted_backends]
        if job.pinned_backend:
            return self.pool.hold(self.pool.choose(pinned=wanted[0]))
        exclude = [u for u in self.pool.urls if wanted and u not in wanted]
        return self.pool.acquire(model, exclude, self.stopping.is_set)

    @staticmethod
    def _validate(graph: dict[str, Any], backend: Backend) -> dict[str, Any]:
        """Check against the cached /object_info; re-read it once before refusing (new files).
        Returns the /object_info the graph fits."""
        try:
            object_info = backend.client.object_info()
            validate_against_object_info(graph, object_info)
        except WorkflowError:
            object_info = backend.client.object_info(refresh=True)
            validate_against_object_info(graph, object_info)
        return object_info

    def reattach(self, job: Job) -> None:
        """After a restart: collect, follow or resubmit a job left submitted/running."""
        if job.backend and job.backend in job.wanted_backends:
            self.pool.add_url(job.backend)  # asked for by the job: this pool learns it
        try:
            backend = self.pool.get(job.backend or "")
        except InvalidRequest:
            self._requeue(job, f"backend {job.backend} is no longer in the pool")
            return
        try:
            entry = lost_or_done(backend.client, job.prompt_id or "")
        except PromptLost as exc:
            self._requeue(job, str(exc))
            return
        except ComfyError as exc:
            self._backend_lost(job, backend, exc)
            return
        if entry is not None:
            logger.info("job %s: finished while we were away; collecting", job.short_id)
            self._finish(job, backend, entry)
            return
        logger.info("job %s: still on %s; following it again", job.short_id, backend.url)
        self._execute(job, self.pool.hold(backend), send=None)

    # --- steps ----------------------------------------------------------------------------
    def _execute(
        self, job: Job, slot: Slot, send: tuple[dict[str, Any], dict[str, Any]] | None
    ) -> None:
        """Send `(graph, extra_data)` (None: re-attaching) and follow; map every outcome
        to a state. Every log line meanwhile names the job and the backend. The slot is
        released once the backend is done with the job (before its files are written)."""
        with job_context(job.id, slot.backend.url), slot:
            self._execute_on(job, slot, send)

    def _follow_on(
        self, job: Job, slot: Slot, send: tuple[dict[str, Any], dict[str, Any]] | None
    ) -> HistoryEntry:
        """Send (unless re-attaching) and follow to the history entry, in the slot; the
        backend's figures count the outcome (a cancel or detach counts nothing)."""
        assert job.prompt_id is not None
        backend = slot.backend
        deadline = time.monotonic() + self.config.job_timeout_s
        stream = self._stream(backend)
        began = time.monotonic()
        try:
            with slot:
                if not stream.connected:
                    stream.connect()
                if send is not None:
                    graph, extra = send
                    backend.client.submit(
                        graph, stream.client_id, extra_data=extra, prompt_id=job.prompt_id
                    )
                entry = follow_prompt(
                    backend.client, stream, job.prompt_id, self._hooks(job), deadline
                )
        except (ComfyError, PromptLost, PromptTimedOut):
            self.pool.record(backend, succeeded=False)
            raise
        seconds = time.monotonic() - began if send is not None else None
        self.pool.record(backend, entry.succeeded, seconds)
        return entry

    def _execute_on(
        self, job: Job, slot: Slot, send: tuple[dict[str, Any], dict[str, Any]] | None
    ) -> None:
        assert job.prompt_id is not None
        backend = slot.backend
        stream = self._stream(backend)
        try:
            entry = self._follow_on(job, slot, send)
        except PromptRejected as exc:
            self._fail(job.id, str(exc), retryable=False)
            return
        except PromptCancelled:
            self._interrupt(backend, job.prompt_id)
            return
        except PromptDetached:
            logger.info("job %s: left on %s; re-attached on next start", job.short_id, backend.url)
            return
        except PromptTimedOut:
            self._interrupt(backend, job.prompt_id)
            timeout = self.config.job_timeout_s
            self._fail(job.id, f"did not finish within {timeout:g} s", retryable=True)
            return
        except PromptLost as exc:
            self._requeue(job, str(exc))
            return
        except ComfyError as exc:
            stream.close()
            self._backend_lost(job, backend, exc)
            return
        self._finish(job, backend, entry)

    def _stream(self, backend: Backend) -> EventStream:
        """This worker thread's event stream to `backend`, kept open across jobs (a new
        WebSocket per job costs a handshake on the path to the first event)."""
        streams: dict[str, EventStream] = self._local.__dict__.setdefault("streams", {})
        if backend.url not in streams:
            client_id = f"dgxp-{uuid.uuid4().hex}"
            streams[backend.url] = EventStream(backend.url, client_id, receive_timeout=1.0)
        return streams[backend.url]

    def close_streams(self) -> None:
        """Close the calling thread's event streams (a worker thread on its way out)."""
        for stream in self._local.__dict__.pop("streams", {}).values():
            stream.close()

    def _hooks(self, job: Job) -> FollowHooks:
        def started() -> None:
            try:
                running = self.store.mark_running(job.id)
            except JobStateError:
                return
            self.hub.publish(JobEventKind.STARTED, job.id, message=job.backend or "", job=running)

        def progress(value: int, maximum: int) -> None:
            self.store.set_progress(job.id, value, maximum)
            self.hub.publish(JobEventKind.PROGRESS, job.id, value=value, maximum=maximum)

        def preview(image: bytes, mime: str) -> None:
            self.hub.publish(JobEventKind.PREVIEW, job.id, preview=image, preview_mime=mime)

        checked = [time.monotonic()]

        def cancelled() -> bool:
            if self.cancels.requested(job.id):
                return True
            if time.monotonic() - checked[0] < _STORE_CANCEL_CHECK_S:
                return False
            checked[0] = time.monotonic()  # another process (`jobs cancel`) may have cancelled
            return self.store.get(job.id).state is JobState.CANCELLED

        return FollowHooks(started, progress, preview, cancelled, self.stopping.is_set)

    def _finish(self, job: Job, backend: Backend, entry: HistoryEntry) -> None:
        """Turn a history entry into files and a final state (exactly once per job)."""
        if not entry.succeeded:
            if entry.message("execution_interrupted") is not None:
                if not self.cancels.requested(job.id):
                    # Not us: the backend was stopped or restarted under the job. Run it again
                    # (bounded by max_attempts), on a healthy backend.
                    self.pool.check(backend)
                    self._requeue(job, f"interrupted on {backend.url}, not by DGX-Pixels")
                return
            data = entry.message("execution_error") or {}
            reason = data.get("exception_message") or "failed without a message"
            where = f"node {data.get('node_id', '?')} ({data.get('node_type', '?')})"
            self._fail(job.id, f"{backend.url}: {where}: {reason}", retryable=False)
            return
        delivery_began = time.monotonic()
        try:
            images = [
                RenderedImage(node, str(ref.get("filename")), self._view(backend, ref))
                for node, ui in entry.outputs.items()
                for ref in ui.get("images", [])
                if isinstance(ref, dict)
            ]
        except ComfyError as exc:
            self._backend_lost(job, backend, exc)
            return
        current = self.store.get(job.id)
        if current.state.is_terminal:  # cancelled while it ran: nothing more to write
            return
        hashes = self._hashes(job)
        files = collect_outputs(
            current,
            images,
            entry.outputs,
            self.library.get(job.template).outputs,
            Path(current.out_dir) if current.out_dir else self.config.out_dir,
            self._provenance(current, backend, hashes),
            graph=self.library.get(job.template).render(current.params),  # per-sprite models
        )
        try:
            done = self.store.mark_succeeded(job.id, files, hashes)
        except JobStateError as exc:
            logger.warning("job %s: not recorded as succeeded: %s", job.short_id, exc)
            return
        logger.info("job %s: succeeded with %d sprite(s)", job.short_id, len(files))
        if self.delivered is not None:
            self.delivered(done, time.monotonic() - delivery_began)
        self.hub.publish(JobEventKind.SUCCEEDED, job.id, job=done)

    @staticmethod
    def _view(backend: Backend, ref: Mapping[str, Any]) -> bytes:
        return backend.client.view(
            str(ref.get("filename", "")),
            subfolder=str(ref.get("subfolder", "")),
            type=str(ref.get("type", "output")),
        )

    def _model_paths(self, graph: Mapping[str, Any]) -> dict[str, Path]:
        """`{file name: local path}` of the models `graph` loads (none without a models dir)."""
        models_dir = self.config.models_dir
        if not models_dir:
            return {}
        return {name: models_dir / folder / name for name, folder in model_files(graph).items()}

    def _hashes(self, job: Job) -> dict[str, str]:
        graph = self.library.get(job.template).render(job.params)
        paths = self._model_paths(graph)
        return {
            name: self.hasher.sha256(paths[name]) if paths else "" for name in model_files(graph)
        }

    @staticmethod
    def _provenance(job: Job, backend: Backend, hashes: Mapping[str, str]) -> dict[str, Any]:
        return {
            "backend": backend.url,
            "backend_kind": backend.kind,
            "prompt_id": job.prompt_id,
            "attempts": job.attempts,
            "models": [{"name": n, "sha256": h or None} for n, h in sorted(hashes.items())],
            "checkpoint": job.params.get("checkpoint"),
            "loras": job.params.get("loras", []),
            "timings": {
                "created_at": job.created_at,
                "submitted_at": job.submitted_at,
                "started_at": job.started_at,
                "collected_at": time.time(),
            },
        }

    # --- outcomes -------------------------------------------------------------------------
    def _fail(self, job_id: str, error: str, retryable: bool) -> None:
        # ComfyUI ends exception_message with "\n" ("{ex}\n{tips}"): keep tables one line.
        error = error.strip()
        try:
            failed = self.store.mark_failed(job_id, error, retryable)
        except JobStateError:
            return
        logger.warning("job %s: failed: %s", job_id[:8], error)
        self.hub.publish(JobEventKind.FAILED, job_id, message=error, job=failed)

    def _requeue(self, job: Job, reason: str) -> None:
        """Back to the queue for another attempt, or failed after `max_attempts`."""
        if job.attempts >= self.config.max_attempts:
            self._fail(job.id, f"{reason} (gave up after {job.attempts} attempts)", True)
            return
        try:
            self.store.requeue(job.id, reason, in_flight_only=True)
        except JobStateError:  # cancelled meanwhile (maybe by another process): stays so
            return
        logger.warning("job %s: %s; queued again (attempt %d)", job.short_id, reason, job.attempts)
        time.sleep(backoff_delay(job.attempts))

    def _backend_lost(self, job: Job, backend: Backend, exc: ComfyError) -> None:
        if isinstance(exc, BackendUnreachable | BackendProtocolError):
            self.pool.mark_unhealthy(backend, str(exc))
        if self.store.get(job.id).state is JobState.QUEUED:
            self.store.release(job.id, job.worker or "")
            return
        self._requeue(job, f"backend {backend.url}: {exc}")

    def interrupt(self, url: str, prompt_id: str) -> None:
        """Best effort: stop `prompt_id` on the backend at `url`. A backend this process's
        pool does not know (`jobs cancel` has no pool; another process followed the job) is
        reached with a client of its own."""
        try:
            backend = self.pool.get(url)
        except InvalidRequest:
            try:
                client = ComfyClient(url, timeout=self.pool.timeout_s)
            except ValueError:
                logger.warning(
                    "could not interrupt %s: backend URL %r is not http(s)", prompt_id, url
                )
                return
            with client:
                _interrupt_on(client, prompt_id)
            return
        self._interrupt(backend, prompt_id)

    @staticmethod
    def _interrupt(backend: Backend, prompt_id: str) -> None:
        """Best effort: drop it from the queue and interrupt it if it runs."""
        _interrupt_on(backend.client, prompt_id)


def _interrupt_on(client: ComfyClient, prompt_id: str) -> None:
    """Best effort: drop `prompt_id` from the backend's queue and interrupt it if it runs."""
    try:
        client.delete_queued([prompt_id])
        client.interrupt(prompt_id)
    except ComfyError as exc:
        logger.warning("could not interrupt %s on %s: %s", prompt_id, client.base_url, exc)
