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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import JobNotFound, JobStateError, StoreError
from orchestrator.jobs.codec import COLUMNS, dump_json, row_to_job, seed_to_db
from orchestrator.jobs.models import Job, SpriteFiles
from orchestrator.jobs.states import JobState, check_transition

__all__ = ["SCHEMA_VERSION", "JobStore", "NewJob"]

# 1: first schema. 2: `seed` holds seeds >= 2**63 as their signed twin (`seed_to_db`); the
# rows of a version-1 file are valid as they are (they could only hold seeds < 2**63).
SCHEMA_VERSION = 2

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
    pinned_backend TEXT
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
            if version < SCHEMA_VERSION:  # 1 -> 2 changes how seeds are read, not the rows
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
                f"SELECT {COLUMNS} FROM jobs WHERE state IN ('submitted', 'running') ORDER BY seq"
            ).fetchall()
        return [row_to_job(r) for r in rows]

    def count(self, state: JobState | None = None) -> int:
        """How many jobs (in this state)."""
        with self._tx(write=False) as db:
            if state is None:
                return int(db.execute("SELECT count(*) FROM jobs").fetchone()[0])
            return int(
                db.execute("SELECT count(*) FROM jobs WHERE state = ?", (state.value,)).fetchone()[
                    0
                ]
            )

    # --- writes -----------------------------------------------------------------------------
    def create(self, new_jobs: Sequence[NewJob]) -> list[Job]:
        """Queue jobs in one transaction (all or none)."""
        now = time.time()
        ids = [uuid.uuid4().hex for _ in new_jobs]
        with self._tx() as db:
            db.executemany(
                "INSERT INTO jobs (id, state, template, params, seed, created_at, batch_id, "
                "hashes, pinned_backend) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?)",
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
                    )
                    for i, n in zip(ids, new_jobs, strict=True)
                ],
            )
        return [self.get(i) for i in ids]

    def claim_next_queued(self, worker: str) -> Job | None:
        """Atomically take the oldest unclaimed queued job for `worker`; None if there is none."""
        with self._tx() as db:
            row = db.execute(
                "UPDATE jobs SET worker = ? WHERE seq = (SELECT seq FROM jobs WHERE state = "
                "'queued' AND worker IS NULL ORDER BY seq LIMIT 1) AND worker IS NULL "
                f"RETURNING {COLUMNS}",
                (worker,),
            ).fetchone()
        return None if row is None else row_to_job(row)

    def release(self, job_id: str, worker: str) -> None:
        """Give back a claimed, still-queued job (e.g. no backend is up yet)."""
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET worker = NULL WHERE id = ? AND worker = ? AND state = 'queued'",
                (job_id, worker),
            )

    def release_claims(self) -> int:
        """Un-claim queued jobs (a previous process died holding them). Returns how many."""
        with self._tx() as db:
            return db.execute(
                "UPDATE jobs SET worker = NULL WHERE state = 'queued' AND worker IS NOT NULL"
            ).rowcount

    def mark_submitted(self, job_id: str, prompt_id: str, backend: str) -> Job:
        """queued -> submitted; counts an attempt."""
        return self._move(
            job_id,
            JobState.SUBMITTED,
            "prompt_id = ?, backend = ?, submitted_at = ?, attempts = attempts + 1, "
            "error = NULL, retryable = 0, progress_value = 0, progress_max = 0",
            (prompt_id, backend, time.time()),
        )

    def mark_running(self, job_id: str) -> Job:
        """submitted -> running."""
        return self._move(job_id, JobState.RUNNING, "started_at = ?", (time.time(),))

    def mark_succeeded(
        self, job_id: str, files: Sequence[SpriteFiles], hashes: Mapping[str, str] | None = None
    ) -> Job:
        """submitted|running -> succeeded, recording the files (and hashes, if given)."""
        sets, args = (
            "finished_at = ?, files = ?, worker = NULL, error = NULL",
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
            "finished_at = ?, error = ?, retryable = ?, worker = NULL",
            (time.time(), error, int(retryable)),
        )

    def mark_cancelled(self, job_id: str, reason: str = "cancelled by user") -> Job:
        """-> cancelled."""
        return self._move(
            job_id,
            JobState.CANCELLED,
            "finished_at = ?, error = ?, worker = NULL",
            (time.time(), reason),
        )

    def requeue(self, job_id: str, reason: str | None = None) -> Job:
        """submitted|running|failed|cancelled -> queued (retry), keeping the attempt count."""
        return self._move(
            job_id,
            JobState.QUEUED,
            "worker = NULL, finished_at = NULL, started_at = NULL, error = ?, "
            "progress_value = 0, progress_max = 0",
            (reason,),
        )

    def set_progress(self, job_id: str, value: int, maximum: int) -> None:
        """Record sampler progress of an in-flight job (no-op once it has finished)."""
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET progress_value = ?, progress_max = ? WHERE id = ? AND state IN "
                "('submitted', 'running')",
                (int(value), int(maximum), job_id),
            )

    def _move(self, job_id: str, target: JobState, sets: str, args: tuple[Any, ...]) -> Job:
        """Compare-and-set transition: legal from the state read, and only if still in it."""
        with self._tx() as db:
            row = db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(job_id)
            try:
                current = JobState(row["state"])
            except ValueError as exc:
                raise StoreError(f"job {job_id}: unknown state {row['state']!r}") from exc
            check_transition(current, target, job_id)
            cursor = db.execute(
                f"UPDATE jobs SET state = ?, {sets} WHERE id = ? AND state = ?",
                (target.value, *args, job_id, current.value),
            )
            if cursor.rowcount != 1:  # pragma: no cover - IMMEDIATE tx serialises writers
                raise JobStateError(f"job {job_id}: state changed concurrently; not moved")
        return self.get(job_id)
