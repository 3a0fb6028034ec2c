"""`jsonable`: the one conversion to plain data that the MCP and ZeroMQ wires share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from orchestrator.jobs.states import JobState
from orchestrator.service.values import LoraSpec
from orchestrator.wire.jsonable import jsonable


@dataclass(frozen=True)
class _Info:
    name: str
    path: Path
    tags: frozenset[str]


def test_service_values_become_plain_json() -> None:
    value = {
        "info": _Info("a", Path("/m/a.safetensors"), frozenset({"x"})),
        "loras": (LoraSpec("l.safetensors", 0.5),),
        "state": JobState.QUEUED,
        "png": b"\x89PNG",
        3: None,
    }
    plain = jsonable(value)
    assert plain == {
        "info": {"name": "a", "path": "/m/a.safetensors", "tags": ["x"]},
        "loras": [{"name": "l.safetensors", "strength": 0.5}],
        "state": "queued",
        "png": "<4 bytes>",
        "3": None,
    }
    assert json.loads(json.dumps(plain)) == plain


def test_template_defaults_keep_their_json_types() -> None:
    defaults = [None, True, 7, 7.5, "auto", [{"name": "x", "strength": 1.0}], {"k": [1, 2]}]
    assert [jsonable(d) for d in defaults] == defaults
