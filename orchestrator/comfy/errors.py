"""Errors of the ComfyUI client (real ComfyUI and the embedded engine alike).

    ComfyError
    ├── BackendUnreachable         connection refused / reset / timed out; names the URL
    │   └── EventStreamClosed      the WebSocket went away (reconnect and reconcile)
    ├── BackendProtocolError       the backend answered, but not what the API promises
    │   └── OutputNotFound         /view answered 404 for a file named in history
    ├── PromptRejected             POST /prompt answered 400; carries `error` + `node_errors`
    ├── ExecutionFailed            a node raised while the prompt ran (`execution_error`)
    ├── Interrupted                the prompt was interrupted (`execution_interrupted`)
    ├── PromptLost                 the backend no longer knows the prompt (it restarted)
    └── Timeout                    the prompt did not finish within the caller's deadline

Every message names the URL or prompt id involved and says what to do next.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BackendProtocolError",
    "BackendUnreachable",
    "ComfyError",
    "EventStreamClosed",
    "ExecutionFailed",
    "Interrupted",
    "OutputNotFound",
    "PromptLost",
    "PromptRejected",
    "Timeout",
    "format_node_errors",
]


class ComfyError(Exception):
    """Root of every error the ComfyUI client raises on purpose."""


class BackendUnreachable(ComfyError):
    """The backend could not be reached at all (refused, reset, timed out)."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


class EventStreamClosed(BackendUnreachable):
    """The WebSocket event stream closed; reconnect with the same client id."""


class BackendProtocolError(ComfyError):
    """The backend answered something the ComfyUI API does not allow (garbage, wrong shape)."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


class OutputNotFound(BackendProtocolError):
    """`/view` has no such file (wrong name/subfolder/type, or the temp dir was wiped)."""


def _input_name(error: dict[str, Any]) -> str | None:
    extra = error.get("extra_info")
    if isinstance(extra, dict):
        name = extra.get("input_name")
        return str(name) if name is not None else None
    return None


def format_node_errors(node_errors: dict[str, Any]) -> list[str]:
    """One readable line per failed input: node id, class, input and ComfyUI's message."""
    lines: list[str] = []
    for node_id, entry in sorted(node_errors.items()):
        if not isinstance(entry, dict):
            lines.append(f"node {node_id}: {entry}")
            continue
        class_type = entry.get("class_type", "?")
        for error in entry.get("errors") or []:
            if not isinstance(error, dict):
                lines.append(f"node {node_id} ({class_type}): {error}")
                continue
            where = f"node {node_id} ({class_type})"
            name = _input_name(error)
            if name:
                where += f" input {name!r}"
            message = error.get("message", "failed validation")
            details = error.get("details")
            lines.append(f"{where}: {message}" + (f" — {details}" if details else ""))
    return lines


class PromptRejected(ComfyError):
    """POST /prompt refused the graph (HTTP 400). Nothing was queued.

    Attributes:
        error: ComfyUI's top-level `error` object (`type`, `message`, `details`, `extra_info`).
        node_errors: ComfyUI's per-node errors
            (`{node_id: {errors, dependent_outputs, class_type}}`).
        url: the backend that refused it.
    """

    def __init__(self, error: dict[str, Any], node_errors: dict[str, Any], url: str) -> None:
        self.error = error
        self.node_errors = node_errors
        self.url = url
        head = f"{url} rejected the prompt: {error.get('message') or error.get('type', 'invalid')}"
        if error.get("details"):
            head += f" ({error['details']})"
        lines = format_node_errors(node_errors)
        body = "".join(f"\n  - {line}" for line in lines)
        super().__init__(head + body + "\nFix the listed inputs and submit again.")


class ExecutionFailed(ComfyError):
    """A node raised while the prompt ran; carries ComfyUI's `execution_error` data."""

    def __init__(self, prompt_id: str, data: dict[str, Any]) -> None:
        self.prompt_id = prompt_id
        self.data = data
        node = data.get("node_id", "?")
        node_type = data.get("node_type", "?")
        exc_type = data.get("exception_type", "error")
        # ComfyUI appends "\n" (plus OOM tips) to every exception_message.
        message = str(data.get("exception_message") or "no message").rstrip()
        super().__init__(
            f"prompt {prompt_id} failed at node {node} ({node_type}): {exc_type}: {message}"
        )


class Interrupted(ComfyError):
    """The prompt was interrupted (by us, another client, or the backend operator)."""

    def __init__(self, prompt_id: str, data: dict[str, Any] | None = None) -> None:
        self.prompt_id = prompt_id
        self.data = data or {}
        node = self.data.get("node_id")
        where = f" at node {node} ({self.data.get('node_type', '?')})" if node else ""
        super().__init__(f"prompt {prompt_id} was interrupted{where}")


class PromptLost(ComfyError):
    """The prompt is neither queued, running nor in history: the backend restarted."""

    def __init__(self, prompt_id: str, url: str) -> None:
        self.prompt_id = prompt_id
        self.url = url
        super().__init__(
            f"{url} no longer knows prompt {prompt_id} (not queued, running or in history: "
            "it was deleted from the queue, or the backend restarted); submit it again"
        )


class Timeout(ComfyError):
    """The prompt did not finish in time; it may still be running on the backend."""

    def __init__(self, prompt_id: str, timeout_s: float, url: str) -> None:
        self.prompt_id = prompt_id
        self.timeout_s = timeout_s
        self.url = url
        super().__init__(
            f"prompt {prompt_id} on {url} did not finish within {timeout_s:g} s; it may still "
            "be running there: check /history later or interrupt it"
        )
