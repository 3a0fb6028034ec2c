"""Errors of the terminal UI and its daemon client.

TuiError (DGXPixelsError)
├── DaemonUnavailable    no reply in time: the daemon is down, starting or unreachable
└── DaemonRefused        the daemon answered with an `error` reply (carries its code)
"""

from __future__ import annotations

from orchestrator.errors import DGXPixelsError

__all__ = ["DaemonRefused", "DaemonUnavailable", "TuiError"]


class TuiError(DGXPixelsError):
    """Root of every error the TUI raises on purpose."""


class DaemonUnavailable(TuiError):
    """The daemon did not answer in time; start it with `dgx-pixels serve`."""


class DaemonRefused(TuiError):
    """The daemon refused a request.

    Attributes:
        code: The protocol error code (`not_found`, `conflict`, `invalid_request` …).
        message: The daemon's explanation.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
