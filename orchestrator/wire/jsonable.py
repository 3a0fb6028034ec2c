"""Plain JSON/msgpack data from the service's values, for every wire (MCP, ZeroMQ).

Adapters send dataclasses, enums, paths and template defaults across wires that carry only
JSON-like data; `jsonable` is the one conversion they share, so a value looks the same on
every wire.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """Plain data: dataclasses and pydantic models become dicts, sequences and sets lists,
    paths strings, bytes a `<N bytes>` note, anything else unknown its `str()`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
