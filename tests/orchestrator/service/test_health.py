"""`HealthBoard`: problems by key, first-seen time kept across repeats, ok once cleared."""

from __future__ import annotations

from datetime import UTC, datetime

from orchestrator.service.health import HealthBoard, HealthState

T0 = datetime(2026, 12, 6, 2, 31, 7, tzinfo=UTC).timestamp()


def test_a_fresh_board_is_ok() -> None:
    health = HealthBoard().snapshot()
    assert health.ok and health.state is HealthState.OK and str(health) == "ok"


def test_a_repeated_problem_keeps_its_first_time_and_latest_detail() -> None:
    now = [T0]
    board = HealthBoard(clock=lambda: now[0])
    assert board.report("store", "job store locked", "database is locked")
    now[0] = T0 + 40
    assert not board.report("store", "job store locked", "database is locked (again)")
    assert str(board.snapshot()) == (
        "degraded: job store locked since 02:31:07 UTC (database is locked (again))"
    )


def test_a_different_summary_under_one_key_is_news_with_a_new_time() -> None:
    now = [T0]
    board = HealthBoard(clock=lambda: now[0])
    board.report("store", "job store locked", "database is locked")
    now[0] = T0 + 60
    assert board.report("store", "job store disk full", "database or disk is full")
    (problem,) = board.snapshot().problems
    assert (problem.summary, problem.since) == ("job store disk full", T0 + 60)


def test_problems_are_listed_oldest_first_and_clear_one_by_one() -> None:
    now = [T0]
    board = HealthBoard(clock=lambda: now[0])
    board.report("store_file", "job store file deleted", "/d/jobs.sqlite3 is gone")
    now[0] = T0 + 1
    board.report("store", "job store locked", "database is locked")
    assert [p.key for p in board.snapshot().problems] == ["store_file", "store"]
    cleared = board.clear("store_file")
    assert cleared is not None and cleared.summary == "job store file deleted"
    assert board.clear("store_file") is None
    board.clear("store")
    assert board.snapshot().ok
