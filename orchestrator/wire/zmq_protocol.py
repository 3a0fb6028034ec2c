"""The DGX-Pixels ZeroMQ wire protocol (`dgxp/1.0`): frames, msgpack codec, protocol errors.

Every message is a multipart ZeroMQ message of ASCII and msgpack frames::

    request (client -> ROUTER):  [b"dgxp/1.0", b"<request type>", <msgpack map>]
    reply   (ROUTER -> client):  [b"dgxp/1.0", b"ok" | b"error", <msgpack map>, (<png>)]
    event   (PUB -> SUB):        [b"dgxp/1.0", b"<event type>", <msgpack map>, (<png>)]

`docs/zmq-protocol.md` is the normative description; this module is its Python face and
imports nothing from the service, so any adapter or client can use it. The message models
live in `orchestrator.wire.zmq_messages` (requests, replies) and `orchestrator.wire.zmq_events` (PUB
events) and are re-exported here, so callers import one module.
Nothing happens at import time.
"""

from __future__ import annotations

from typing import Any

import msgpack
from pydantic import BaseModel, TypeAdapter, ValidationError

from orchestrator.errors import DGXPixelsError
from orchestrator.wire import zmq_events, zmq_messages

# The message models are re-exported so callers import one module (the asyncio package
# pattern): their names come from each module's `__all__`, listed once, there.
from orchestrator.wire.zmq_events import *  # noqa: F403
from orchestrator.wire.zmq_events import EVENT_TYPES, Event
from orchestrator.wire.zmq_messages import *  # noqa: F403
from orchestrator.wire.zmq_messages import (
    MAX_BODY_BYTES,
    MAX_TYPE_BYTES,
    PROTOCOL_FRAME,
    PROTOCOL_MAJOR,
    PROTOCOL_NAME,
    REQUEST_TYPES,
    ErrorCode,
    ErrorReply,
    OkReply,
    Reply,
    Request,
)

__all__ = [
    "ProtocolError",
    "decode_body",
    "decode_event",
    "decode_reply",
    "decode_request",
    "encode_message",
    "parse_protocol_frame",
]
__all__ += zmq_messages.__all__
__all__ += zmq_events.__all__


class ProtocolError(DGXPixelsError):
    """A message broke the protocol; `code` is the `ErrorCode` to reply with."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_REQUEST_ADAPTER: TypeAdapter[Request] = TypeAdapter(Request)
_REPLY_ADAPTER: TypeAdapter[Reply] = TypeAdapter(Reply)
_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

# --- codec ----------------------------------------------------------------------------------


def parse_protocol_frame(frame: bytes) -> tuple[int, int]:
    """Read `dgxp/<major>.<minor>`; raise unless this server speaks that major version.

    Raises:
        ProtocolError: `bad_protocol` for anything else, `unsupported_version` for an
            unknown major version (a newer minor is accepted: it only adds fields).
    """
    name, _, version = frame.partition(b"/")
    major_b, _, minor_b = version.partition(b".")
    if name != PROTOCOL_NAME.encode() or not major_b.isdigit() or not minor_b.isdigit():
        raise ProtocolError(
            ErrorCode.BAD_PROTOCOL,
            f"protocol frame={frame[:32]!r}: expected {PROTOCOL_FRAME!r} as the first frame",
        )
    major, minor = int(major_b), int(minor_b)
    if major != PROTOCOL_MAJOR:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"protocol version={major}.{minor}: this server speaks major version "
            f"{PROTOCOL_MAJOR} only; send {PROTOCOL_FRAME!r}",
        )
    return major, minor


def decode_body(body: bytes, message_type: str) -> dict[str, Any]:
    """Unpack a msgpack body into a map and check its `type` agrees with the type frame."""
    if len(body) > MAX_BODY_BYTES:
        raise ProtocolError(
            ErrorCode.BODY_TOO_LARGE,
            f"body size={len(body)} bytes: the limit is {MAX_BODY_BYTES} bytes",
        )
    try:
        data = msgpack.unpackb(body, raw=False, strict_map_key=True)
    except (ValueError, TypeError) as exc:
        raise ProtocolError(ErrorCode.BAD_BODY, f"body is not valid msgpack: {exc}") from exc
    if not isinstance(data, dict):
        raise ProtocolError(
            ErrorCode.BAD_BODY, f"body is a msgpack {type(data).__name__}; it must be a map"
        )
    declared = data.setdefault("type", message_type)
    if declared != message_type:
        raise ProtocolError(
            ErrorCode.BAD_BODY,
            f"body type={declared!r} disagrees with the type frame {message_type!r}",
        )
    return data


def _type_of(frame: bytes, known: frozenset[str], what: str) -> str:
    try:
        name = frame.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            ErrorCode.BAD_FRAMES, f"type frame={frame[:32]!r} is not ASCII"
        ) from exc
    if name not in known:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"{what} type={name[:MAX_TYPE_BYTES]!r} is unknown; valid: {', '.join(sorted(known))}",
        )
    return name


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']} (got {err.get('input')!r:.60})")
    return "; ".join(parts)


def decode_request(frames: list[bytes]) -> Request:
    """Turn `[protocol, type, body]` into a typed request.

    Raises:
        ProtocolError: naming the problem, with the `ErrorCode` to reply with.
    """
    if len(frames) != 3:
        raise ProtocolError(
            ErrorCode.BAD_FRAMES,
            f"request has {len(frames)} frames: expected 3 (protocol, type, msgpack body)",
        )
    parse_protocol_frame(frames[0])
    name = _type_of(frames[1], REQUEST_TYPES, "request")
    data = decode_body(frames[2], name)
    try:
        return _REQUEST_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ProtocolError(
            ErrorCode.INVALID_REQUEST, f"{name}: {_validation_message(exc)}"
        ) from exc


def _decode_typed(frames: list[bytes], adapter: TypeAdapter[Any], known: frozenset[str]) -> Any:
    if len(frames) not in (3, 4):
        raise ProtocolError(ErrorCode.BAD_FRAMES, f"message has {len(frames)} frames: expected 3-4")
    parse_protocol_frame(frames[0])
    name = _type_of(frames[1], known, "message")
    try:
        return adapter.validate_python(decode_body(frames[2], name))
    except ValidationError as exc:
        raise ProtocolError(ErrorCode.BAD_BODY, f"{name}: {_validation_message(exc)}") from exc


def decode_reply(frames: list[bytes]) -> tuple[OkReply | ErrorReply, bytes | None]:
    """Client side: `[protocol, ok|error, body, (png)]` -> (reply, png or None)."""
    reply = _decode_typed(frames, _REPLY_ADAPTER, frozenset({"ok", "error"}))
    return reply, (frames[3] if len(frames) == 4 else None)


def decode_event(frames: list[bytes]) -> tuple[Any, bytes | None]:
    """Subscriber side: `[protocol, event type, body, (png)]` -> (event, png or None)."""
    event = _decode_typed(frames, _EVENT_ADAPTER, EVENT_TYPES)
    return event, (frames[3] if len(frames) == 4 else None)


def encode_message(model: BaseModel, png: bytes | None = None) -> list[bytes]:
    """Frames for any wire model: protocol, its `type`, msgpack body, optional PNG."""
    body = model.model_dump(mode="json")
    frames = [PROTOCOL_FRAME, str(body["type"]).encode("ascii"), _pack(body)]
    if png is not None:
        frames.append(png)
    return frames


def _pack(data: dict[str, Any]) -> bytes:
    packed = msgpack.packb(data, use_bin_type=True)
    assert isinstance(packed, bytes)  # packb returns bytes unless given a custom stream
    return packed
