"""Turning the project's "bad input" errors into MCP tool errors.

A tool error reaches the client as a failed call with our message (which names the
argument and value); the server itself keeps serving. Only the families that mean "the
caller asked for something wrong or impossible" are converted; anything else is a bug and
FastMCP reports it as an internal error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from fastmcp.exceptions import ToolError

from orchestrator.errors import DGXPixelsError
from orchestrator.service import PixelArtError

__all__ = ["client_errors"]


@contextlib.contextmanager
def client_errors() -> Iterator[None]:
    """Re-raise project errors as `ToolError` with the same message."""
    try:
        yield
    except (DGXPixelsError, PixelArtError) as exc:
        raise ToolError(str(exc)) from exc
