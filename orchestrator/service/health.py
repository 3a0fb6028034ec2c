"""The daemon's own health: `ok`, or `degraded` with the reasons and since when.

Backends have their own health (`BackendPool`); this is about the process itself: a job
store that is locked or full, a job database deleted under the daemon. Whoever meets a
problem reports it under a key (`HealthBoard.report`), and clears it once the thing works
again; `Service.health()` reads a frozen `Health` snapshot that ping/status replies carry::

    board.report("store", "job store locked", "database is locked")
    str(board.snapshot())   # "degraded: job store locked since 02:31:07 (database is locked)"
    board.clear("store")
    str(board.snapshot())   # "ok"
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

__all__ = ["Health", "HealthBoard", "HealthState", "Problem"]


class HealthState(StrEnum):
    """How the daemon is doing."""

    OK = "ok"
    DEGRADED = "degraded"  # it answers, but something keeps it from running jobs normally


@dataclass(frozen=True)
class Problem:
    """One reason the daemon is degraded.

    Attributes:
        key: Who reported it (`"store"`, `"store_file"` …); one problem per key.
        summary: What is wrong, in a few words (`"job store locked"`).
        detail: The underlying error, as it was last seen.
        since: When it was first seen (epoch seconds).
    """

    key: str
    summary: str
    detail: str
    since: float

    def __str__(self) -> str:
        clock = datetime.fromtimestamp(self.since, tz=UTC).strftime("%H:%M:%S")
        return f"{self.summary} since {clock} UTC ({self.detail})"


@dataclass(frozen=True)
class Health:
    """A snapshot of the daemon's health (`str()` gives the one-line form)."""

    state: HealthState
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state is HealthState.OK

    def __str__(self) -> str:
        if self.ok:
            return self.state.value
        return f"{self.state.value}: " + "; ".join(str(p) for p in self.problems)


class HealthBoard:
    """Thread-safe table of the current problems, one per key.

    Args:
        clock: Epoch seconds (injected by tests).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._problems: dict[str, Problem] = {}

    def report(self, key: str, summary: str, detail: str) -> bool:
        """Record a problem (a repeat keeps its first `since`, updates the detail).

        Returns:
            True when this is news (the key had no problem, or a different summary).
        """
        with self._lock:
            known = self._problems.get(key)
            fresh = known is None or known.summary != summary
            since = self._clock() if known is None or fresh else known.since
            self._problems[key] = Problem(key, summary, detail, since)
        return fresh

    def clear(self, key: str) -> Problem | None:
        """Forget the problem under `key`; returns it if there was one."""
        with self._lock:
            return self._problems.pop(key, None)

    def problem(self, key: str) -> Problem | None:
        """The current problem under `key`, if any."""
        with self._lock:
            return self._problems.get(key)

    def snapshot(self) -> Health:
        """The health now: ok, or degraded with the problems oldest first."""
        with self._lock:
            problems = tuple(sorted(self._problems.values(), key=lambda p: p.since))
        return Health(HealthState.DEGRADED if problems else HealthState.OK, problems)
