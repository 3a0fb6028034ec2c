"""SQLite job store: durable, WAL, schema-versioned, compare-and-set transitions.

Every transition is one `UPDATE ... WHERE id = ? AND state = ?`: when two workers (threads
or processes) race for the same job, exactly one update matches and the other gets
`JobStateError`. So a job is never collected twice. One connection guarded by a lock
serves the threads of a process; other processes share the file through WAL.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import JobNotFound, JobStateError, StoreError
from orchestrator.jobs.codec import COLUMNS, dump_json, row_to_job, seed_to_db
from orchestrator.jobs.kinds import JobKind
from orchestrator.jobs.models import Job, Lease, SpriteFiles
from orchestrator.jobs.states import JobState, check_transition

__all__ = ["SCHEMA_VERSION", "JobStore", "NewJob"]

# 1: first schema. 2: `seed` holds seeds >= 2**63 as their signed twin (`seed_to_db`); the
# rows of a version-1 file are valid as they are (they could only hold seeds < 2**63).
# 3: a job carries where it runs (`preferred_backends`, `out_dir`) and who follows it while
# in flight (`lease_owner`, `lease_expires`); older rows get "any backend", "the running
# process's output folder" and no lease (so the next process may take them over).
# 4: a job has a `kind` (`JobKind`: generate, train); older rows are all `generate`.
SCHEMA_VERSION = 4

_V3_COLUMNS = (
    "preferred_backends TEXT NOT NULL DEFAULT '[]'",
    "out_dir TEXT",
    "lease_owner TEXT",
    "lease_expires REAL",
)
_V4_COLUMNS = ("kind TEXT NOT NULL DEFAULT 'generate'",)
_IN_FLIGHT = "state IN ('submitted', 'running')"
_CLAIMED = "state = 'queued' AND worker IS NOT NULL"
_HELD = f"({_IN_FLIGHT} OR ({_CLAIMED}))"  # what a lease covers: claimed or sent
_NO_LEASE = "lease_owner = NULL, lease_expires = NULL"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    state          TEXT NOT NULL,
    template       TEXT NOT NULL,
    params         TEXT NOT NULL,
    seed           INTEGER NOT NULL, -- 0..2**63-1 as is, 2**63.. as seed - 2**64 (codec)
    backend        TEXT,
    prompt_id      TEXT,
    created_at     REAL NOT NULL,
    submitted_at   REAL,
    started_at     REAL,
    finished_at    REAL,
    error          TEXT,
    retryable      INTEGER NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    files          TEXT NOT NULL DEFAULT '[]',
    hashes         TEXT NOT NULL DEFAULT '{}',
    progress_value INTEGER NOT NULL DEFAULT 0,
    progress_max   INTEGER NOT NULL DEFAULT 0,
    batch_id       TEXT,
    worker         TEXT,
    pinned_backend TEXT,
    preferred_backends TEXT NOT NULL DEFAULT '[]',
    out_dir        TEXT,
    lease_owner    TEXT,
    lease_expires  REAL,
    kind           TEXT NOT NULL DEFAULT 'generate'
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, seq);
"""


@dataclass(frozen=True)
class NewJob:
    """What `JobStore.create` needs to queue a job."""

    template: str
    params: Mapping[str, Any]
    seed: int
    batch_id: str | None = None
    hashes: Mapping[str, str] = field(default_factory=dict)
    backend: str | None = None
    preferred_backends: tuple[str, ...] = ()
    out_dir: str | None = None
    kind: JobKind = JobKind.GENERATE


class JobStore:
    """Jobs in one SQLite file (WAL mode).

    Args:
        path: The database file; its folder is created.

    Raises:
        StoreError: The file is not a database, is corrupt, or has a newer schema.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"database={str(self.path)!r}: cannot open ({exc})") from exc
        self._db.row_factory = sqlite3.Row
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    # --- lifecycle --------------------------------------------------------------------------
    def _migrate(self) -> None:
        try:  # pragmas cannot run inside a transaction
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"database={str(self.path)!r}: {exc}; move the file aside (it is left "
                "untouched) and start again, or point DGXP_DATA_DIR elsewhere"
            ) from exc
        with self._tx() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"database={str(self.path)!r} has schema version {version}, newer than this "
                    f"dgx-pixels ({SCHEMA_VERSION}); upgrade dgx-pixels or use another data dir"
                )
            if version == 0:
                for statement in _SCHEMA.split(";"):  # executescript would COMMIT early
                    if statement.strip():
                        db.execute(statement)
            elif version < SCHEMA_VERSION:  # 1 -> 2 changes how seeds are read, not rows
                have = {r["name"] for r in db.execute("PRAGMA table_info(jobs)")}
                for column in (*_V3_COLUMNS, *_V4_COLUMNS):
                    if column.split()[0] not in have:
                        db.execute(f"ALTER TABLE jobs ADD COLUMN {column}")
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("SELECT count(*) FROM jobs").fetchone()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction (IMMEDIATE for writes, so the read-check-write of a transition
        is atomic across processes); sqlite errors become `StoreError` naming the file."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"database={str(self.path)!r}: {exc}; if the file is damaged, move it aside "
                    "(jobs in it are kept there) and restart"
                ) from exc

    # --- reads ------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        """The job with this id, or with this unique id prefix (≥ 4 characters).

        Raises:
            JobNotFound: No job (or no unique job) matches.
        """
        with self._tx(write=False) as db:
            row = db.execute(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None and len(job_id) >= 4:
                rows = db.execute(
                    f"SELECT {COLUMNS} FROM jobs WHERE id LIKE ? || '%' LIMIT 2", (job_id,)
                ).fetchall()
                row = rows[0] if len(rows) == 1 else None
        if row is None:
            raise JobNotFound(job_id)
        return row_to_job(row)

    def list_jobs(self, state: JobState | None = None, limit: int = 50) -> list[Job]:
        """Newest first, optionally only one state."""
        query = f"SELECT {COLUMNS} FROM jobs"
        args: tuple[Any, ...] = ()
        if state is not None:
            query += " WHERE state = ?"
            args = (JobState(state).value,)
        query += " ORDER BY seq DESC LIMIT ?"
        with self._tx(write=False) as db:
            rows = db.execute(query, (*args, int(limit))).fetchall()
        return [row_to_job(r) for r in rows]

    def in_flight(self) -> list[Job]:
        """Jobs sent to a backend and not yet finished (oldest first): what restart reconciles."""
        with self._tx(write=False) as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM jobs WHERE {_IN_FLIGHT} ORDER BY seq"
            ).fetchall()
        return [row_to_job(r) for r in rows]

    def count(self, state: JobState | None = None, kind: JobKind | None = None) -> int:
        """How many jobs (in this state, of this kind)."""
        where = [("state = ?", state.value)] if state is not None else []
        if kind is not None:
            where.append(("kind = ?", JobKind(kind).value))
        query = "SELECT count(*) FROM jobs"
        if where:
            query += " WHERE " + " AND ".join(clause for clause, _ in where)
        with self._tx(write=False) as db:
            return int(db.execute(query, tuple(value for _, value in where)).fetchone()[0])

    # --- writes -----------------------------------------------------------------------------
    def create(self, new_jobs: Sequence[NewJob]) -> list[Job]:
        """Queue jobs in one transaction (all or none)."""
        now = time.time()
        ids = [uuid.uuid4().hex for _ in new_jobs]
        with self._tx() as db:
            db.executemany(
                "INSERT INTO jobs (id, state, template, params, seed, created_at, batch_id, "
                "hashes, pinned_backend, preferred_backends, out_dir, kind) "
                "VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        i,
                        n.template,
                        dump_json(dict(n.params)),
                        seed_to_db(n.seed),
                        now,
                        n.batch_id,
                        dump_json(dict(n.hashes)),
                        n.backend,
                        dump_json(list(n.preferred_backends)),
                        n.out_dir,
                        JobKind(n.kind).value,
                    )
                    for i, n in zip(ids, new_jobs, strict=True)
                ],
            )
        return [self.get(i) for i in ids]

    def claim_next_queued(
        self,
        worker: str,
        only: Collection[str] | None = None,
        lease: Lease | None = None,
        kind: JobKind = JobKind.GENERATE,
    ) -> Job | None:
        """Atomically take the oldest unclaimed queued job for `worker`; None if there is none.

        Args:
            worker: Recorded as the job's holder.
            only: Claim only among these job ids (a short-lived CLI runs its own jobs and
                never an unrelated one); None: any queued job (the daemon).
            lease: Held over the claim, so a claim whose process died is given back
                (`release_lapsed_claims`).
            kind: Only jobs of this kind (a backend worker never takes a training run).
        """
        owner, expires = (lease.owner, lease.expires_at) if lease else (None, None)
        among = "" if only is None else "AND id IN (SELECT value FROM json_each(?)) "
        args: tuple[Any, ...] = (worker, owner, expires, JobKind(kind).value)
        if only is not None:
            args += (dump_json(sorted(only)),)
        with self._tx() as db:
            row = db.execute(
                "UPDATE jobs SET worker = ?, lease_owner = ?, lease_expires = ? WHERE seq = "
                "(SELECT seq FROM jobs WHERE state = 'queued' AND worker IS NULL AND kind = ? "
                f"{among}"
                f"ORDER BY seq LIMIT 1) AND worker IS NULL RETURNING {COLUMNS}",
                args,
            ).fetchone()
        return None if row is None else row_to_job(row)

    def release(self, job_id: str, worker: str) -> None:
        """Give back a claimed, still-queued job (e.g. no backend is up yet)."""
        with self._tx() as db:
            db.execute(
                f"UPDATE jobs SET worker = NULL, {_NO_LEASE} WHERE id = ? AND worker = ? AND "
                "state = 'queued'",
                (job_id, worker),
            )

    def release_claims(self) -> int:
        """Un-claim queued jobs a previous process left claimed, sparing claims under a live
        lease (a CLI running them right now). Returns how many."""
        with self._tx() as db:
            return db.execute(
                f"UPDATE jobs SET worker = NULL, {_NO_LEASE} WHERE {_CLAIMED} AND "
                "(lease_expires IS NULL OR lease_expires < ?)",
                (time.time(),),
            ).rowcount

    def mark_submitted(
        self, job_id: str, prompt_id: str, backend: str, lease: Lease | None = None
    ) -> Job:
        """queued -> submitted; counts an attempt and records who follows it (`lease`)."""
        owner, expires = (lease.owner, lease.expires_at) if lease else (None, None)
        return self._move(
            job_id,
            JobState.SUBMITTED,
            "prompt_id = ?, backend = ?, submitted_at = ?, attempts = attempts + 1, "
            "error = NULL, retryable = 0, progress_value = 0, progress_max = 0, "
            "lease_owner = ?, lease_expires = ?",
            (prompt_id, backend, time.time(), owner, expires),
        )

    def mark_running(self, job_id: str) -> Job:
        """submitted -> running."""
        return self._move(job_id, JobState.RUNNING, "started_at = ?", (time.time(),))

    def mark_succeeded(
        self, job_id: str, files: Sequence[SpriteFiles], hashes: Mapping[str, str] | None = None
    ) -> Job:
        """submitted|running -> succeeded, recording the files (and hashes, if given)."""
        sets, args = (
            f"finished_at = ?, files = ?, worker = NULL, error = NULL, {_NO_LEASE}",
            [time.time(), dump_json([f.to_dict() for f in files])],
        )
        if hashes is not None:
            sets += ", hashes = ?"
            args.append(dump_json(dict(hashes)))
        return self._move(job_id, JobState.SUCCEEDED, sets, tuple(args))

    def mark_failed(self, job_id: str, error: str, retryable: bool = False) -> Job:
        """-> failed with the reason."""
        return self._move(
            job_id,
            JobState.FAILED,
            f"finished_at = ?, error = ?, retryable = ?, worker = NULL, {_NO_LEASE}",
            (time.time(), error, int(retryable)),
        )

    def mark_cancelled(self, job_id: str, reason: str = "cancelled by user") -> Job:
        """-> cancelled."""
        return self._move(
            job_id,
            JobState.CANCELLED,
            f"finished_at = ?, error = ?, worker = NULL, {_NO_LEASE}",
            (time.time(), reason),
        )

    def requeue(
        self, job_id: str, reason: str | None = None, *, in_flight_only: bool = False
    ) -> Job:
        """submitted|running|failed|cancelled -> queued (retry), keeping the attempt count.

        Args:
            job_id: The job.
            reason: Recorded as its error until it runs again.
            in_flight_only: Only from submitted|running (a backend lost it): a job another
                process cancelled meanwhile stays cancelled (`JobStateError`).
        """
        return self._move(
            job_id,
            JobState.QUEUED,
            "worker = NULL, finished_at = NULL, started_at = NULL, error = ?, "
            f"progress_value = 0, progress_max = 0, {_NO_LEASE}",
            (reason,),
            expect=(JobState.SUBMITTED, JobState.RUNNING) if in_flight_only else None,
        )

    # --- leases -----------------------------------------------------------------------------
    def renew_leases(self, owner: str, expires_at: float) -> int:
        """Push back the expiry of every job `owner` has claimed or sent (its heartbeat).
        Returns how many it holds."""
        with self._tx() as db:
            return db.execute(
                f"UPDATE jobs SET lease_expires = ? WHERE lease_owner = ? AND {_HELD}",
                (expires_at, owner),
            ).rowcount

    def expire_leases(self, owner: str) -> int:
        """End `owner`'s leases now (it stops following its jobs; the next process may
        take them over at once). Returns how many."""
        with self._tx() as db:
            return db.execute(
                f"UPDATE jobs SET lease_expires = 0 WHERE lease_owner = ? AND {_HELD}",
                (owner,),
            ).rowcount

    def release_lapsed_claims(self, now: float) -> int:
        """Give back queued jobs claimed under a lease that expired (the claiming process
        died before sending them). Returns how many."""
        with self._tx() as db:
            return db.execute(
                f"UPDATE jobs SET worker = NULL, {_NO_LEASE} WHERE {_CLAIMED} AND "
                "lease_expires IS NOT NULL AND lease_expires < ?",
                (now,),
            ).rowcount

    def takeable(self, owner: str, now: float, kind: JobKind = JobKind.GENERATE) -> list[Job]:
        """In-flight jobs of `kind` that `owner` may take over: no lease, an expired one, or
        its own."""
        with self._tx(write=False) as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM jobs WHERE {_IN_FLIGHT} AND kind = ? AND (lease_owner "
                "IS NULL OR lease_expires IS NULL OR lease_expires < ? OR lease_owner = ?) "
                "ORDER BY seq",
                (JobKind(kind).value, now, owner),
            ).fetchall()
        return [row_to_job(r) for r in rows]

    def take_over(self, job_id: str, lease: Lease, now: float) -> Job | None:
        """Atomically make `lease` the job's lease if it is in flight and its lease is
        missing, expired or already `lease.owner`'s; None if another process holds it."""
        with self._tx() as db:
            row = db.execute(
                "UPDATE jobs SET lease_owner = ?, lease_expires = ? WHERE id = ? AND "
                f"{_IN_FLIGHT} AND (lease_owner IS NULL OR lease_expires IS NULL OR "
                f"lease_expires < ? OR lease_owner = ?) RETURNING {COLUMNS}",
                (lease.owner, lease.expires_at, job_id, now, lease.owner),
            ).fetchone()
        return None if row is None else row_to_job(row)

    def set_progress(self, job_id: str, value: int, maximum: int) -> None:
        """Record sampler progress of an in-flight job (no-op once it has finished)."""
        with self._tx() as db:
            db.execute(
                f"UPDATE jobs SET progress_value = ?, progress_max = ? WHERE id = ? AND "
                f"{_IN_FLIGHT}",
                (int(value), int(maximum), job_id),
            )

    def _move(
        self,
        job_id: str,
        target: JobState,
        sets: str,
        args: tuple[Any, ...],
        expect: Collection[JobState] | None = None,
    ) -> Job:
        """Compare-and-set transition: legal from the state read (and one of `expect`, if
        given), and only if still in it."""
        with self._tx() as db:
            row = db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(job_id)
            try:
                current = JobState(row["state"])
            except ValueError as exc:
                raise StoreError(f"job {job_id}: unknown state {row['state']!r}") from exc
            check_transition(current, target, job_id)
            if expect is not None and current not in expect:
                raise JobStateError(
                    f"job {job_id}: is {current.value!r}, not {'/'.join(expect)}; not moved"
                )
            cursor = db.execute(
                f"UPDATE jobs SET state = ?, {sets} WHERE id = ? AND state = ?",
                (target.value, *args, job_id, current.value),
            )
            if cursor.rowcount != 1:  # pragma: no cover - IMMEDIATE tx serialises writers
                raise JobStateError(f"job {job_id}: state changed concurrently; not moved")
        return self.get(job_id)
