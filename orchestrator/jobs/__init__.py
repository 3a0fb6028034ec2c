"""Durable jobs: the state machine, the frozen `Job` record and its SQLite store.

Pure: no network, nothing at import time.
"""

from __future__ import annotations

from orchestrator.jobs.kinds import JobKind
from orchestrator.jobs.models import Job, JobOutputs, JobTimings, Lease, SpriteFiles
from orchestrator.jobs.states import TERMINAL_STATES, JobState, can_transition, check_transition
from orchestrator.jobs.store import SCHEMA_VERSION, JobStore, NewJob

__all__ = [
    "SCHEMA_VERSION",
    "TERMINAL_STATES",
    "Job",
    "JobKind",
    "JobOutputs",
    "JobState",
    "JobStore",
    "JobTimings",
    "Lease",
    "NewJob",
    "SpriteFiles",
    "can_transition",
    "check_transition",
]
