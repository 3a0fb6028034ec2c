"""`JobView`: the one view of a job that ZeroMQ replies/events and MCP tool results carry."""

from __future__ import annotations

import dataclasses
import json

import pytest
from pydantic import ValidationError

from orchestrator.jobs.models import Job, JobOutputs, SpriteFiles
from orchestrator.jobs.states import JobState
from orchestrator.wire.job_view import JobView, SpriteFilesView, job_view
from orchestrator.wire.zmq_protocol import (
    JobResult,
    ListJobsRequest,
    OkReply,
    decode_reply,
    decode_request,
    encode_message,
)

# What the view adds to a job's own attributes: its tag, and what only a caller knows.
VIEW_ONLY = {"type", "label"}


def _job(state: JobState, **fields: object) -> Job:
    base: dict[str, object] = {
        "id": "f" * 32,
        "state": state,
        "template": "single_sprite",
        "params": {"prompt": "a red potion", "steps": 4},
        "seed": 7,
        "backend": "http://127.0.0.1:8188",
        "prompt_id": "p-7",
        "created_at": 100.0,
    }
    return Job(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize("state", list(JobState))
def test_every_job_state_round_trips_through_both_wires(state: JobState) -> None:
    view = job_view(_job(state))
    # MCP: JSON structured content.
    from_json = JobView.model_validate_json(view.model_dump_json())
    # ZeroMQ: msgpack frames of an `ok` reply, decoded as a client does.
    frames = encode_message(OkReply(request="get_job", result=JobResult(job=view)))
    reply, _ = decode_reply(frames)
    assert isinstance(reply, OkReply) and isinstance(reply.result, JobResult)
    for decoded in (from_json, reply.result.job):
        assert decoded.state is state
        assert decoded == view


def test_a_state_outside_job_state_is_refused_naming_the_field_and_the_valid_ones() -> None:
    data = job_view(_job(JobState.QUEUED)).model_dump(mode="json") | {"state": "paused"}
    with pytest.raises(ValidationError) as info:
        JobView.model_validate(data)
    message = str(info.value)
    assert "state" in message and "paused" in message
    assert all(f"'{state.value}'" in message for state in JobState)


def test_the_views_state_schema_is_job_state() -> None:
    schema = JobView.model_json_schema()
    enum = schema["$defs"]["JobState"]["enum"]
    assert enum == [state.value for state in JobState]


def test_list_jobs_filters_by_any_job_state_and_refuses_others() -> None:
    for state in JobState:
        request = decode_request(
            encode_message(ListJobsRequest(state=state))  # what a client sends
        )
        assert isinstance(request, ListJobsRequest) and request.state is state
    with pytest.raises(ValidationError, match="state"):
        ListJobsRequest.model_validate({"state": "paused"})


def test_the_view_carries_every_job_field_it_names() -> None:
    sprite = SpriteFiles(sprite="/o/a.png", sidecar="/o/a.json", preview="/o/a@8x.png")
    job = _job(
        JobState.SUCCEEDED,
        started_at=101.0,
        finished_at=102.5,
        outputs=("/o/a.png",),
        progress=(4, 4),
        attempts=2,
        retryable=True,
        batch_id="b-1",
        files=(sprite,),
    )
    view = job_view(job, label="base")
    data = json.loads(view.model_dump_json())
    for name in set(JobView.model_fields) - VIEW_ONLY - {"files", "params"}:
        assert data[name] == json.loads(json.dumps(getattr(job, name))), name
    assert data["params"] == dict(job.params)
    assert data["type"] == "job" and data["label"] == "base" and data["prompt"] == "a red potion"
    assert view.files == [SpriteFilesView.model_validate(sprite.to_dict())]


def test_outputs_replace_the_jobs_own_file_record() -> None:
    own = SpriteFiles(sprite="/o/a.png", sidecar="/o/a.json")
    more = SpriteFiles(sprite="/o/b.png", sidecar="/o/b.json", atlas="/o/b.atlas.json")
    job = _job(JobState.SUCCEEDED, files=(own,))
    view = job_view(job, JobOutputs(job_id=job.id, sprites=(own, more)))
    assert [f.sprite for f in view.files] == ["/o/a.png", "/o/b.png"]
    assert view.files[1].atlas == "/o/b.atlas.json"


def test_sprite_files_view_names_every_sprite_file() -> None:
    # Derived, not restated: a file kind added to `SpriteFiles` must reach the wire.
    kinds = {f.name for f in dataclasses.fields(SpriteFiles)}
    assert set(SpriteFilesView.model_fields) - {"type"} == kinds


def test_unknown_fields_from_a_newer_peer_are_ignored() -> None:
    data = json.loads(job_view(_job(JobState.RUNNING)).model_dump_json())
    assert JobView.model_validate(data | {"future": [1, 2]}).state is JobState.RUNNING
