"""A short-lived CLI command's jobs (`generate`, `batch`, `jobs retry`): run them, follow
them to the end, and never leave them dangling.

The command's service claims only the jobs it was asked to run (`claim_scope="own"`).
While a daemon (`dgx-pixels serve`) holds the data directory, the jobs run there, and
this command follows them through the shared job store; their output folder and backends
are stored with them, so `-o` and `--backend` still hold.

If the command stops waiting before its jobs are final (`--timeout`, Ctrl-C, SIGTERM), it
cancels them with a reason that says why and how to run them again: the backend prompt is
interrupted and deleted, and the job is `cancelled`, a state both `jobs retry` (run it
again) and `jobs cancel` (a no-op that says so) accept.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from orchestrator.service import Job, Service
    from orchestrator.service.job_events import JobEvent
    from orchestrator.settings import Settings

__all__ = ["retry_hint", "run_own_jobs"]


def retry_hint(job_id: str) -> str:
    """How a cancelled job is run again (ends every cancel reason this module writes)."""
    return f"`dgx-pixels jobs retry {job_id[:8]}` runs it again"


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM acts like Ctrl-C while the block runs (the main thread only), so the
    command can still cancel its jobs before it exits."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _cancel_unfinished(service: Service, jobs: Sequence[Job], why: str) -> list[Job]:
    """Cancel every job of `jobs` that is not final; return them all as they are now."""
    final = []
    for job in jobs:
        current = service.get_job(job.id)
        if not current.state.is_terminal:
            current = service.cancel(job.id, f"{why}: {retry_hint(job.id)}")
        final.append(current)
    return final


def run_own_jobs(
    command: str,
    settings: Settings,
    start_jobs: Callable[[Service], list[Job]],
    console: Console,
    timeout_s: float,
) -> list[Job]:
    """Start a short-lived service, let `start_jobs` queue jobs in it, follow them.

    Args:
        command: Its name, for the cancel reasons ("generate timed out after 60 s: …").
        settings: The command's settings.
        start_jobs: Queues the jobs (`submit_many`, `retry`) and returns them.
        console: Where the progress bars go (stderr).
        timeout_s: How long to wait for the jobs; then those not final are cancelled.

    Returns:
        The jobs, each final (succeeded, failed or cancelled).

    Raises:
        KeyboardInterrupt: Ctrl-C or SIGTERM, after cancelling the jobs not yet final.
    """
    from orchestrator.adapters.cli.job_progress import follow_jobs
    from orchestrator.composition import build_service

    events: queue.Queue[JobEvent] = queue.Queue()
    with console.status("starting the service (the embedded engine loads models on demand)…"):
        service = build_service(settings, claim_scope="own")
    jobs: list[Job] = []
    try:
        with _sigterm_interrupts():
            service.subscribe(events.put)
            service.start()
            jobs = start_jobs(service)
            try:
                follow_jobs(service, jobs, events, console, timeout_s)
            except KeyboardInterrupt:
                _cancel_unfinished(service, jobs, f"{command} was interrupted")
                raise
            return _cancel_unfinished(service, jobs, f"{command} timed out after {timeout_s:g} s")
    finally:
        service.stop()
