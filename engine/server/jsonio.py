"""JSON out of the server: never fails on values a custom node put into its output."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

__all__ = ["json_response", "to_json"]


def _jsonable(value: Any) -> Any:
    # A custom node may put tensors/arrays or other objects into its `ui`; never let that
    # break /history or the websocket for everyone.
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else str(value)


def to_json(data: Any) -> str:
    """JSON text of `data`; objects JSON cannot hold become lists (arrays) or strings."""
    return json.dumps(data, default=_jsonable)


def json_response(data: Any, status: int = 200) -> web.Response:
    """`web.json_response` that survives non-JSON values (see `to_json`)."""
    return web.Response(text=to_json(data), status=status, content_type="application/json")
