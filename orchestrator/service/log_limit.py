"""`RateLimitedLogger`: a warning a loop can repeat is logged at most once per interval.

A worker that waits for a backend, or a store that stays locked, would otherwise write the
same line several times a second. The first occurrence of a key is logged at once; repeats
within `interval_s` are counted, and the next line logged for that key says how many were
suppressed::

    limited = RateLimitedLogger(logger, interval_s=30.0)
    limited.warning("no-backend", "job %s: %s; will retry", job.short_id, exc)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimitedLogger"]

DEFAULT_INTERVAL_S = 30.0


@dataclass
class _Slot:
    logged_at: float
    suppressed: int = 0


class RateLimitedLogger:
    """Log through `logger`, at most once per `interval_s` for each key.

    Args:
        logger: Where the lines go.
        interval_s: Shortest time between two lines of one key.
        clock: Monotonic seconds (injected by tests).
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s={interval_s!r}: must be > 0 seconds")
        self.logger = logger
        self.interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}

    def log(self, level: int, key: str, msg: str, *args: object) -> bool:
        """Log `msg % args` unless `key` was logged less than `interval_s` ago.

        Returns:
            True if the line was written, False if it was counted as suppressed.
        """
        now = self._clock()
        with self._lock:
            slot = self._slots.get(key)
            if slot is not None and now - slot.logged_at < self.interval_s:
                slot.suppressed += 1
                return False
            suppressed = slot.suppressed if slot is not None else 0
            self._slots[key] = _Slot(logged_at=now)
        if suppressed:
            msg += " (%d similar line(s) suppressed since the last one)"
            args = (*args, suppressed)
        self.logger.log(level, msg, *args)
        return True

    def warning(self, key: str, msg: str, *args: object) -> bool:
        """`log(logging.WARNING, ...)`."""
        return self.log(logging.WARNING, key, msg, *args)

    def error(self, key: str, msg: str, *args: object) -> bool:
        """`log(logging.ERROR, ...)`."""
        return self.log(logging.ERROR, key, msg, *args)

    def forget(self, key: str) -> None:
        """Drop `key`'s history (the condition ended: its next occurrence is news again)."""
        with self._lock:
            self._slots.pop(key, None)
