"""The job state machine: legal moves pass, illegal ones name both states."""

from __future__ import annotations

import itertools

import pytest

from orchestrator.errors import JobStateError
from orchestrator.jobs.states import TERMINAL_STATES, TRANSITIONS, JobState, check_transition


def test_happy_path_is_legal() -> None:
    path = [JobState.QUEUED, JobState.SUBMITTED, JobState.RUNNING, JobState.SUCCEEDED]
    for current, target in itertools.pairwise(path):
        check_transition(current, target)


def test_succeeded_is_final() -> None:
    for target in JobState:
        with pytest.raises(JobStateError, match="'succeeded'"):
            check_transition(JobState.SUCCEEDED, target, "abc")


def test_illegal_transition_names_both_states_and_the_job() -> None:
    with pytest.raises(JobStateError) as info:
        check_transition(JobState.QUEUED, JobState.RUNNING, "job42")
    message = str(info.value)
    assert "job42" in message and "'queued'" in message and "'running'" in message
    assert "submitted" in message  # says where it may go


def test_failed_and_cancelled_may_only_be_retried() -> None:
    for state in (JobState.FAILED, JobState.CANCELLED):
        assert TRANSITIONS[state] == frozenset({JobState.QUEUED})


def test_terminal_states() -> None:
    assert {s for s in JobState if s.is_terminal} == set(TERMINAL_STATES)
    assert JobState("running") is JobState.RUNNING
