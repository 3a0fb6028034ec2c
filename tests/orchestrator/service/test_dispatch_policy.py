"""The dispatch rule: least loaded, per-backend in-flight limit, stickiness to the same models."""

from __future__ import annotations

import pytest

from orchestrator.service.dispatch_policy import Candidate, DispatchPolicy, model_key

A, B, C = "http://a", "http://b", "http://c"


def _c(url: str, load: int, in_flight: int | None = None, last: str | None = None) -> Candidate:
    return Candidate(url, load, load if in_flight is None else in_flight, last)


def test_the_least_loaded_backend_wins_without_a_model() -> None:
    policy = DispatchPolicy(max_in_flight=0)
    assert policy.pick([_c(A, 3), _c(B, 1), _c(C, 2)]) == _c(B, 1)


def test_a_backend_at_its_limit_is_passed_over_even_when_least_loaded() -> None:
    # A's queue is empty but we already have 2 jobs there: the limit counts our own jobs.
    full = Candidate(A, load=2, in_flight=2)
    busier = Candidate(B, load=3, in_flight=0)
    assert DispatchPolicy(max_in_flight=2).pick([full, busier]) == busier


def test_every_backend_at_its_limit_gives_none() -> None:
    policy = DispatchPolicy(max_in_flight=1)
    assert policy.pick([_c(A, 1), _c(B, 1)]) is None
    assert policy.pick([]) is None


def test_no_limit_means_any_load_is_taken() -> None:
    assert DispatchPolicy(max_in_flight=0).pick([_c(A, 50)]) == _c(A, 50)


def test_a_job_sticks_to_the_backend_that_ran_its_models_within_the_slack() -> None:
    policy = DispatchPolicy(max_in_flight=0, sticky_slack=1)
    same = _c(A, 1, last="sdxl|pixel_lora")
    other = _c(B, 0, last="sdxl")
    assert policy.pick([other, same], "sdxl|pixel_lora") == same


def test_stickiness_gives_way_when_the_same_model_backend_is_much_busier() -> None:
    policy = DispatchPolicy(max_in_flight=0, sticky_slack=1)
    same = _c(A, 3, last="sdxl")
    idle = _c(B, 1, last="other")
    assert policy.pick([same, idle], "sdxl") == idle


def test_zero_slack_sticks_only_on_a_tie() -> None:
    policy = DispatchPolicy(max_in_flight=0, sticky_slack=0)
    assert policy.pick([_c(A, 0), _c(B, 0, last="m")], "m") == _c(B, 0, last="m")
    assert policy.pick([_c(A, 0), _c(B, 1, last="m")], "m") == _c(A, 0)


def test_a_full_same_model_backend_does_not_get_the_job() -> None:
    policy = DispatchPolicy(max_in_flight=2, sticky_slack=5)
    full = _c(A, 2, last="m")
    assert policy.pick([full, _c(B, 1, last="x")], "m") == _c(B, 1, last="x")


def test_ties_prefer_same_model_then_a_fresh_backend_then_the_first_added() -> None:
    policy = DispatchPolicy(max_in_flight=0, sticky_slack=0)
    ran_other, fresh = _c(A, 0, last="x"), _c(B, 0)
    assert policy.pick([ran_other, fresh], "m") == fresh  # a switch costs, a first load too
    assert policy.pick([_c(A, 0), _c(B, 0)], "m") == _c(A, 0)


def test_model_key_ignores_order_and_repeats() -> None:
    assert model_key(["lora.safetensors", "sdxl.safetensors", "lora.safetensors"]) == model_key(
        ["sdxl.safetensors", "lora.safetensors"]
    )
    assert model_key(["a"]) != model_key(["a", "b"])


@pytest.mark.parametrize(
    ("field", "value"), [("max_in_flight", -1), ("sticky_slack", -2), ("max_in_flight", True)]
)
def test_a_negative_or_non_integer_knob_is_refused_by_name(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{field}={value!r}"):
        DispatchPolicy(**{field: value})  # type: ignore[arg-type]
