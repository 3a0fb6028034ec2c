"""Errors of the orchestrator: the root every adapter catches, and the map of them all.

Every error class under `orchestrator/`, in one tree (where it lives, when it is raised)::

    Exception
    ├── DGXPixelsError                 root of every error raised on purpose (this module)
    │   ├── InvalidRequest (ValueError)   a request field has a bad value (names field + value)
    │   ├── ConfigError                   the settings cannot be loaded: config file missing,
    │   │                                 malformed, unknown key, or a bad value (settings.py)
    │   ├── TemplateError (ValueError)    unknown template / parameter, or a graph the backend
    │   │                                 rejects (the face of WorkflowError below)
    │   ├── JobNotFound (KeyError)        no job has that id
    │   ├── JobStateError                 the job's state does not allow it (cancel a finished job)
    │   ├── StoreError                    the job database is unreadable, corrupt or from a newer
    │   │                                 schema version (orchestrator/jobs/store.py, codec.py)
    │   ├── DataDirInUse                  `serve` on a data dir another process already serves
    │   │                                 (service/worker_pool.py; names that process's PID)
    │   ├── BackendError                  no healthy backend, or a backend answered garbage
    │   │   ├── BackendUnavailable        refused / timed out: retryable on another backend
    │   │   └── BackendsBusy              every healthy backend is at its in-flight limit
    │   │                                 (service/backend_pool.py)
    │   ├── DeployError (ValueError)      a refused or failed Bevy deploy (deploy/errors.py)
    │   │   ├── UnknownProjectError       the project is not registered in `bevy_projects`
    │   │   ├── UnsafeDestinationError    the asset name leaves `assets/`
    │   │   ├── InvalidSourceError        the sprite/atlas is missing or not PNG/JSON
    │   │   ├── AssetTooLargeError        a file or image is over the limit
    │   │   └── AssetExistsError          the destination exists and `overwrite` was not given
    │   ├── ProtocolError                 a ZeroMQ message broke `dgxp/1` (zmq_protocol.py;
    │   │                                 carries the `ErrorCode` to reply with)
    │   ├── BridgeBindError               a ZeroMQ endpoint cannot be bound (zmq_bridge.py)
    │   ├── TuiError                      the terminal UI's errors (tui/errors.py)
    │   │   ├── DaemonUnavailable         the daemon did not answer in time
    │   │   └── DaemonRefused             the daemon sent an `error` reply (carries its code)
    │   ├── ComfyLinkError                `dgx-pixels comfy link`: not a ComfyUI folder, or
    │   │                                 something not ours is in the way (cli/comfy.py)
    │   └── DaemonUnreachable             `dgx-pixels status`: no daemon answered the ping
    │                                     (cli/status.py)
    ├── ComfyError                     the ComfyUI client (comfy/errors.py); the service turns
    │   │                              these into BackendError or a failed job's reason
    │   ├── BackendUnreachable            connection refused / reset / timed out
    │   │   └── EventStreamClosed         the WebSocket went away
    │   ├── BackendProtocolError          an answer that is not what the API promises
    │   │   └── OutputNotFound            /view answered 404 for a file named in history
    │   ├── PromptRejected                POST /prompt answered 400 (`node_errors`)
    │   ├── ExecutionFailed               a node raised while the prompt ran
    │   ├── Interrupted                   the prompt was interrupted
    │   ├── PromptLost                    the backend no longer knows the prompt
    │   └── Timeout                       the prompt missed the caller's deadline
    ├── WorkflowError (ValueError)     workflow templates (workflows/errors.py); the service
    │   │                              re-raises them as TemplateError, chained with `from`
    │   ├── TemplateNotFound (LookupError)  no template of that name
    │   ├── TemplateDefinitionError       a template or sidecar file is malformed
    │   ├── TemplateParameterError        unknown parameter, wrong type, out of range
    │   └── WorkflowValidationError       the graph does not fit the backend's /object_info
    ├── follow.py's PromptLost, PromptCancelled, PromptDetached, PromptTimedOut
    │                                  the worker's internal signals while following a
    │                                  prompt; the worker turns each into a job state
    └── worker_pool.py's _StoreTrouble a store error in the middle of a job: the worker
                                       backs off, then resumes that job from its stored state

Messages name the argument and its value and say what to do next. Adapters catch
`DGXPixelsError` (and the pixel core's `PixelArtError`) as "the caller's problem".
`tests/orchestrator/test_errors_tree.py` keeps this tree complete.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "ConfigError",
    "DGXPixelsError",
    "InvalidRequest",
    "JobNotFound",
    "JobStateError",
    "StoreError",
    "TemplateError",
]


class DGXPixelsError(Exception):
    """Root of every error the orchestrator raises on purpose."""


class ConfigError(DGXPixelsError):
    """The settings cannot be loaded. The message is one line naming the config file or the
    `DGXP_*` variable, and the key (the CLI prints it and exits 2)."""


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
