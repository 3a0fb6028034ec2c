"""The wire protocol module: frames, version rule, body limits, typed decode errors."""

from __future__ import annotations

import msgpack
import pytest

from orchestrator.wire.zmq_protocol import (
    MAX_BODY_BYTES,
    PROTOCOL_FRAME,
    ErrorCode,
    ErrorReply,
    JobProgressEvent,
    ProtocolError,
    SubmitRequest,
    WireJob,
    decode_event,
    decode_reply,
    decode_request,
    encode_message,
    parse_protocol_frame,
)


def _frames(kind: str, body: object) -> list[bytes]:
    return [PROTOCOL_FRAME, kind.encode(), msgpack.packb(body)]


def _code(frames: list[bytes]) -> ErrorCode:
    with pytest.raises(ProtocolError) as info:
        decode_request(frames)
    return info.value.code


def test_submit_request_round_trips_through_frames() -> None:
    request = SubmitRequest(prompt="a red potion", count=2, seed=7, size=(32, 32))
    decoded = decode_request(encode_message(request))
    assert decoded == request


def test_body_type_may_be_omitted_and_comes_from_the_type_frame() -> None:
    decoded = decode_request(_frames("cancel", {"job_id": "abc", "request_id": 4}))
    assert (decoded.type, decoded.request_id) == ("cancel", 4)


def test_newer_minor_version_is_accepted() -> None:
    assert parse_protocol_frame(b"dgxp/1.7") == (1, 7)


def test_unknown_major_version_is_an_explicit_error_naming_the_version() -> None:
    with pytest.raises(ProtocolError, match=r"version=2\.0") as info:
        parse_protocol_frame(b"dgxp/2.0")
    assert info.value.code is ErrorCode.UNSUPPORTED_VERSION


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([b"hello"], ErrorCode.BAD_FRAMES),
        ([PROTOCOL_FRAME, b"ping", b"\x80", b"extra"], ErrorCode.BAD_FRAMES),
        ([b"HTTP/1.1", b"ping", b"\x80"], ErrorCode.BAD_PROTOCOL),
        ([PROTOCOL_FRAME, b"\xff\xfe", b"\x80"], ErrorCode.BAD_FRAMES),
        ([PROTOCOL_FRAME, b"launch_missiles", b"\x80"], ErrorCode.UNKNOWN_TYPE),
        ([PROTOCOL_FRAME, b"ping", b"\xc1"], ErrorCode.BAD_BODY),
        ([PROTOCOL_FRAME, b"ping", msgpack.packb([1, 2])], ErrorCode.BAD_BODY),
        ([PROTOCOL_FRAME, b"ping", msgpack.packb({"type": "submit"})], ErrorCode.BAD_BODY),
        ([PROTOCOL_FRAME, b"ping", b"\x80" + b"\x00"], ErrorCode.BAD_BODY),
        ([PROTOCOL_FRAME, b"submit", msgpack.packb({"prompt": ""})], ErrorCode.INVALID_REQUEST),
        (_frames("submit", {"prompt": "x", "count": 0}), ErrorCode.INVALID_REQUEST),
        (
            _frames("compare", {"prompt": "x", "seed": 1, "variants": [{}]}),
            ErrorCode.INVALID_REQUEST,
        ),
    ],
)
def test_bad_requests_map_to_their_error_codes(frames: list[bytes], code: ErrorCode) -> None:
    assert _code(frames) is code


def test_oversized_body_is_rejected_before_unpacking() -> None:
    body = msgpack.packb({"prompt": "x" * (MAX_BODY_BYTES + 1)})
    with pytest.raises(ProtocolError, match="body size=") as info:
        decode_request([PROTOCOL_FRAME, b"submit", body])
    assert info.value.code is ErrorCode.BODY_TOO_LARGE


def test_invalid_field_message_names_the_field_and_value() -> None:
    with pytest.raises(ProtocolError, match=r"count.*-3"):
        decode_request(_frames("submit", {"prompt": "x", "count": -3}))


def test_unknown_request_type_lists_the_valid_ones() -> None:
    with pytest.raises(ProtocolError, match="valid: cancel, compare"):
        decode_request(_frames("nope", {}))


def test_error_reply_and_progress_event_decode_on_the_client_side() -> None:
    reply, png = decode_reply(
        encode_message(ErrorReply(code=ErrorCode.NOT_FOUND, message="job_id='x': no such job"))
    )
    assert isinstance(reply, ErrorReply) and reply.code is ErrorCode.NOT_FOUND and png is None

    job = WireJob(id="j1", state="running", template="single_sprite", seed=1, created_at=1.0)
    event = JobProgressEvent(seq=3, time=2.0, job_id="j1", job=job, value=4, max=20)
    decoded, png = decode_event(encode_message(event, png=b"\x89PNG"))
    assert decoded == event and png == b"\x89PNG"


def test_unknown_body_fields_are_ignored_for_forward_compatibility() -> None:
    decoded = decode_request(_frames("ping", {"future_field": [1, 2, 3]}))
    assert decoded.type == "ping"


def test_wire_job_carries_every_field_of_the_job() -> None:
    from orchestrator.adapters.zmq.handlers import wire_job
    from orchestrator.jobs.models import Job
    from orchestrator.jobs.states import JobState

    job = Job(
        id="a" * 32,
        state=JobState.SUCCEEDED,
        template="tileset",
        params={"prompt": "grass", "seed": 2**64 - 1},
        seed=2**64 - 1,
        backend="http://gpu:8188",
        prompt_id="p-1",
        created_at=1.0,
        started_at=2.0,
        finished_at=3.0,
        error=None,
        outputs=("/o/a.png", "/o/b.png"),
        progress=(2, 2),
        attempts=2,
        retryable=True,
        batch_id="b1",
    )
    wire = wire_job(job).model_dump(mode="json")
    assert wire == {
        "type": "job",
        "id": "a" * 32,
        "state": "succeeded",
        "template": "tileset",
        "prompt": "grass",
        "params": {"prompt": "grass", "seed": 2**64 - 1},
        "seed": 2**64 - 1,
        "backend": "http://gpu:8188",
        "prompt_id": "p-1",
        "created_at": 1.0,
        "started_at": 2.0,
        "finished_at": 3.0,
        "error": None,
        "outputs": ["/o/a.png", "/o/b.png"],
        "files": [],
        "progress": [2, 2],
        "attempts": 2,
        "retryable": True,
        "batch_id": "b1",
        "label": None,
        "qa_warnings": [],
        "kind": "generate",
    }
    assert msgpack.unpackb(msgpack.packb(wire))["seed"] == 2**64 - 1  # uint 64 on the wire
