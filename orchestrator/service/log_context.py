"""Which job (and backend) the current thread works on, for every log line it writes.

A worker sets them around a job step (`job_context`); a log formatter reads them
(`current_job`) when the record carries no `job_id`/`backend` of its own (`extra=`). They
are context variables, so each worker thread (and asyncio task) has its own::

    with job_context(job.id):
        with job_context(job.id, backend.url):
            logger.info("sent")        # JSON logs show job_id and backend
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current_job", "job_context"]

_job_id: ContextVar[str | None] = ContextVar("dgxp_log_job_id", default=None)
_backend: ContextVar[str | None] = ContextVar("dgxp_log_backend", default=None)


def current_job() -> tuple[str | None, str | None]:
    """(job id, backend URL) of the current thread's job, each None when unset."""
    return _job_id.get(), _backend.get()


@contextmanager
def job_context(job_id: str, backend: str | None = None) -> Iterator[None]:
    """Tag log lines written inside the block with `job_id` (and `backend`, if given)."""
    job_token = _job_id.set(job_id)
    backend_token = _backend.set(backend) if backend is not None else None
    try:
        yield
    finally:
        if backend_token is not None:
            _backend.reset(backend_token)
        _job_id.reset(job_token)
