"""JSON into the server: the one parser every route and the websocket use, and typed fields.

A request body is refused with a 400 in ComfyUI's error shape (`invalid_json` /
`invalid_body`, naming the problem) when it is not UTF-8, not JSON, not an object, nested
deeper than `MAX_JSON_DEPTH` (a 100k-deep body would otherwise raise RecursionError while
parsing, and a few hundred levels would break copying it into the queue and history
later), or when a field has the wrong type. Valid ComfyUI requests pass unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from engine.server.state import bad_request

__all__ = [
    "MAX_JSON_DEPTH",
    "JsonBodyError",
    "flag",
    "id_list",
    "optional_id",
    "parse_json",
    "read_json",
]

# API prompts nest about 5 levels, UI workflows in extra_pnginfo about 15.
MAX_JSON_DEPTH = 100
_SHOWN_CHARS = 80  # an error quotes this much of a bad value, never a whole body


class JsonBodyError(ValueError):
    """Text that is not acceptable JSON; `message` says what, `details` where."""

    def __init__(self, message: str, details: str) -> None:
        super().__init__(f"{message}: {details}")
        self.message = message
        self.details = details


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def _too_deep(data: Any, limit: int) -> bool:
    # Iterative on purpose: the point is to never recurse on client data.
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_json(raw: bytes | str) -> Any:
    """The JSON value of `raw` (UTF-8 bytes or text), nested at most `MAX_JSON_DEPTH` deep.

    Raises:
        JsonBodyError: not UTF-8, not JSON, or nested too deep.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as ex:
            raise JsonBodyError(
                "Request body is not UTF-8 text",
                f"byte 0x{raw[ex.start]:02x} at offset {ex.start}; send JSON encoded as UTF-8",
            ) from ex
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as ex:
        raise JsonBodyError(
            "Request body is not valid JSON", f"{ex.msg} at line {ex.lineno} column {ex.colno}"
        ) from ex
    except RecursionError:
        data, too_deep = None, True
    else:
        too_deep = _too_deep(data, MAX_JSON_DEPTH)
    if too_deep:
        raise JsonBodyError(
            "Request body is nested too deeply",
            f"more than {MAX_JSON_DEPTH} levels of objects/arrays; flatten it",
        )
    return data


async def read_json(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object body; a clear 400 when it is not one.

    Args:
        request: the HTTP request.
        optional: an empty body means `{}` (e.g. `/interrupt`, `/free`).
    """
    raw = await request.read()
    if optional and not raw.strip():
        return {}
    try:
        data = parse_json(raw)
    except JsonBodyError as ex:
        raise bad_request("invalid_json", ex.message, ex.details) from ex
    if not isinstance(data, dict):
        raise bad_request(
            "invalid_json", "Request body must be a JSON object", f"got {type(data).__name__}"
        )
    return data


def _wrong_type(name: str, wanted: str, value: Any) -> web.HTTPBadRequest:
    return bad_request(
        "invalid_body", f"{name} must be {wanted}", f"{name}: got {_shown(value)}", name
    )


def flag(body: dict[str, Any], name: str) -> bool:
    """The boolean field `name` (absent: False); 400 for any other type."""
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise _wrong_type(name, "true or false", value)
    return value


def _as_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def optional_id(body: dict[str, Any], name: str) -> str | None:
    """The id field `name` (a string; a whole number is taken as its text) or None if absent."""
    value = body.get(name)
    if value is None:
        return None
    found = _as_id(value)
    if found is None:
        raise _wrong_type(name, "a string id", value)
    return found


def id_list(body: dict[str, Any], name: str) -> list[str]:
    """The list-of-ids field `name` (absent or null: empty); 400 for any other shape."""
    value = body.get(name)
    if value is None:
        return []
    ids = [_as_id(item) for item in value] if isinstance(value, list) else [None]
    if None in ids:
        raise _wrong_type(name, "a list of string ids", value)
    return [i for i in ids if i is not None]
