"""Errors of the orchestrator (service, jobs, pool, outputs).

    DGXPixelsError
    ├── InvalidRequest        a request field has a bad value (names the field and the value)
    ├── TemplateError         unknown template / parameter, or a graph the backend rejects
    ├── JobNotFound           no job has that id
    ├── JobStateError         the job's state does not allow it (cancel a finished job …)
    ├── StoreError            the job database is unreadable, corrupt or from a newer version
    ├── BackendError          no healthy backend, or a backend answered garbage
    │   └── BackendUnavailable   connection refused / timed out: retryable on another backend
    └── DeployError           (mcp-bevy: `orchestrator/deploy.py` subclasses this root)

Messages name the argument and its value and say what to do next. `TemplateError` is the
orchestrator's face of the workflow package's errors: the service chains the original with
`from`, so callers catch one tree.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "DGXPixelsError",
    "InvalidRequest",
    "JobNotFound",
    "JobStateError",
    "StoreError",
    "TemplateError",
]


class DGXPixelsError(Exception):
    """Root of every error the orchestrator raises on purpose."""


class InvalidRequest(DGXPixelsError, ValueError):
    """A request field has a value the service cannot use.

    Attributes:
        field: The offending field (`"count"`, `"params.steps"`, `"loras[0].name"` …).
        value: The value that was given.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}={value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class TemplateError(DGXPixelsError, ValueError):
    """A template is unknown, a parameter is unknown or out of range, or the backend's
    /object_info rejects the rendered graph (unknown node, bad value). Nothing was sent."""


class JobNotFound(DGXPixelsError, KeyError):
    """No job has the given id."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job_id={job_id!r}: no such job; `dgx-pixels jobs list` shows the ids")
        self.job_id = job_id

    def __str__(self) -> str:  # KeyError would quote the message again
        return str(self.args[0])


class JobStateError(DGXPixelsError):
    """The job's current state does not allow the requested action or transition."""


class StoreError(DGXPixelsError):
    """The job database is unreadable, corrupt, or written by a newer schema version."""


class BackendError(DGXPixelsError):
    """No healthy backend is available, or a backend answered something unusable."""


class BackendUnavailable(BackendError):
    """A backend could not be reached (refused, reset, timed out). Retryable elsewhere."""
