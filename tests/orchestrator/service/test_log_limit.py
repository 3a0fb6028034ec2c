"""`RateLimitedLogger`: one line per key and interval, and the count of what it held back."""

from __future__ import annotations

import logging

import pytest

from orchestrator.service.log_limit import RateLimitedLogger


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limited(clock: FakeClock) -> RateLimitedLogger:
    return RateLimitedLogger(logging.getLogger("test.log_limit"), interval_s=30.0, clock=clock)


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "test.log_limit"]


def test_repeats_within_the_interval_are_held_back_then_counted(
    limited: RateLimitedLogger, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="test.log_limit")
    # "no healthy backend" from two workers, 2.6 times a second for 29 s: one line.
    for tick in range(76):
        clock.now = 1000.0 + tick * (1 / 2.6)
        limited.warning("no-backend", "job %s: no healthy backend; will retry", f"j{tick}")
    assert _lines(caplog) == ["job j0: no healthy backend; will retry"]

    clock.now = 1030.0
    assert limited.warning("no-backend", "job %s: no healthy backend; will retry", "j76")
    assert _lines(caplog)[1] == (
        "job j76: no healthy backend; will retry (75 similar line(s) suppressed since the last one)"
    )


def test_each_key_has_its_own_interval(
    limited: RateLimitedLogger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="test.log_limit")
    assert limited.warning("a", "first %d", 1)
    assert limited.warning("b", "second %d", 2)
    assert not limited.warning("a", "first %d", 3)
    assert _lines(caplog) == ["first 1", "second 2"]


def test_forget_makes_the_next_occurrence_news_without_a_count(
    limited: RateLimitedLogger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="test.log_limit")
    limited.warning("store", "locked")
    limited.warning("store", "locked")
    limited.forget("store")
    assert limited.error("store", "locked again")
    assert _lines(caplog) == ["locked", "locked again"]
    assert caplog.records[-1].levelno == logging.ERROR


def test_a_line_after_a_quiet_interval_carries_no_count(
    limited: RateLimitedLogger, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="test.log_limit")
    limited.warning("k", "once")
    clock.now += 31.0
    limited.warning("k", "twice")
    assert _lines(caplog) == ["once", "twice"]


@pytest.mark.parametrize("interval_s", [0.0, -1.0])
def test_a_non_positive_interval_is_refused_naming_it(interval_s: float) -> None:
    with pytest.raises(ValueError, match=rf"interval_s={interval_s!r}: must be > 0"):
        RateLimitedLogger(logging.getLogger("test.log_limit"), interval_s=interval_s)
