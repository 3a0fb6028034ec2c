"""This process's lease on the jobs it follows, kept alive by a heartbeat thread.

A job sent to a backend records a lease: the following process's id and an expiry. The
heartbeat pushes the expiry of all of this process's jobs back every `heartbeat_s`; a process
that dies (kill -9) or hangs stops renewing, and once `lease_s` has passed another process may
take its jobs over (`claims`). Stopping cleanly ends the leases at once, so the next process
re-attaches without waiting.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from orchestrator.errors import StoreError
from orchestrator.jobs.models import Lease
from orchestrator.jobs.store import JobStore
from orchestrator.service.log_limit import RateLimitedLogger

__all__ = ["LeaseKeeper", "new_owner_id"]

logger = logging.getLogger(__name__)


def new_owner_id() -> str:
    """`host:pid:random`: unique per service, readable in `jobs show`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper:
    """Hands out this process's leases and renews them.

    Args:
        store: Where leases are recorded.
        lease_s: How long a lease lasts without renewal.
        heartbeat_s: Seconds between renewals.
        owner: The lease id (default: a new `new_owner_id()`).
    """

    def __init__(
        self, store: JobStore, lease_s: float, heartbeat_s: float, owner: str | None = None
    ) -> None:
        self.store = store
        self.lease_s = lease_s
        self.heartbeat_s = heartbeat_s
        self.owner = owner or new_owner_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._limited = RateLimitedLogger(logger)  # a locked store fails every heartbeat

    def lease(self) -> Lease:
        """A lease that runs `lease_s` from now."""
        return Lease(self.owner, time.time() + self.lease_s)

    def start(self) -> None:
        """Start the heartbeat (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="dgxp-lease", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing and end this process's leases now (its jobs are left for the next
        process, which may take them over at once)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.heartbeat_s + 5)
            self._thread = None
        try:
            self.store.expire_leases(self.owner)
        except StoreError as exc:  # they expire by themselves after lease_s
            logger.warning("could not end the leases of %s: %s", self.owner, exc)

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self.store.renew_leases(self.owner, time.time() + self.lease_s)
            except StoreError as exc:  # outer edge of the heartbeat loop: report, keep beating
                self._limited.warning(
                    "renew", "could not renew the leases of %s: %s", self.owner, exc
                )
