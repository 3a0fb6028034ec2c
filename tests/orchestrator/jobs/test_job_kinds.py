"""Job kinds in the store: a train job next to generate jobs, and schema-3 files migrated."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.errors import StoreError
from orchestrator.jobs import JobKind, JobState, JobStore, Lease, NewJob
from orchestrator.jobs.store import SCHEMA_VERSION


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    with JobStore(tmp_path / "jobs.sqlite3") as s:
        yield s


def _train(name: str = "knight") -> NewJob:
    return NewJob("train_lora", {"name": name, "dataset_dir": "/ds"}, 0, kind=JobKind.TRAIN)


def test_kind_is_stored_and_generate_is_the_default(store: JobStore) -> None:
    gen, train = store.create([NewJob("single_sprite", {"prompt": "p"}, 1), _train()])
    assert (gen.kind, train.kind) == (JobKind.GENERATE, JobKind.TRAIN)
    assert store.get(train.id).params == {"name": "knight", "dataset_dir": "/ds"}


def test_each_worker_claims_only_its_kind(store: JobStore) -> None:
    (train,) = store.create([_train()])
    (gen,) = store.create([NewJob("single_sprite", {"prompt": "p"}, 1)])
    assert store.claim_next_queued("backend-worker").id == gen.id  # type: ignore[union-attr]
    assert store.claim_next_queued("backend-worker") is None  # the older train job is not its
    claimed = store.claim_next_queued("trainer", kind=JobKind.TRAIN)
    assert claimed is not None and claimed.id == train.id and claimed.worker == "trainer"


def test_takeovers_are_per_kind(store: JobStore) -> None:
    train, gen = store.create([_train(), NewJob("single_sprite", {"prompt": "p"}, 1)])
    for job in (train, gen):
        store.mark_submitted(job.id, "p", "x", Lease("dead", 10.0))
    assert [j.id for j in store.takeable("me", now=100.0)] == [gen.id]
    assert [j.id for j in store.takeable("me", now=100.0, kind=JobKind.TRAIN)] == [train.id]


# The jobs table exactly as schema 3 wrote it (4 added `kind`).
_V3_TABLE = """
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
    template TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL, backend TEXT,
    prompt_id TEXT, created_at REAL NOT NULL, submitted_at REAL, started_at REAL,
    finished_at REAL, error TEXT, retryable INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, files TEXT NOT NULL DEFAULT '[]',
    hashes TEXT NOT NULL DEFAULT '{}', progress_value INTEGER NOT NULL DEFAULT 0,
    progress_max INTEGER NOT NULL DEFAULT 0, batch_id TEXT, worker TEXT, pinned_backend TEXT,
    preferred_backends TEXT NOT NULL DEFAULT '[]', out_dir TEXT, lease_owner TEXT,
    lease_expires REAL
)"""


def _v3_file(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute(_V3_TABLE)
    db.execute(
        "INSERT INTO jobs (id, state, template, params, seed, created_at, out_dir) VALUES "
        "('c' || hex(randomblob(15)), 'queued', 'single_sprite', '{\"prompt\":\"x\"}', 5, 1.0, "
        "'/abs/out')"
    )
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()


def test_schema_3_file_is_migrated_its_jobs_become_generate_jobs(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    _v3_file(path)
    with JobStore(path) as s:
        (old,) = s.list_jobs()
        assert (old.kind, old.state, old.out_dir, old.seed) == (
            JobKind.GENERATE,
            JobState.QUEUED,
            "/abs/out",
            5,
        )
        s.create([_train()])
        assert s.claim_next_queued("w", kind=JobKind.TRAIN) is not None
        assert s.claim_next_queued("w").id == old.id  # type: ignore[union-attr]
    with JobStore(path) as s:  # reopening the migrated file changes nothing
        assert [j.kind for j in s.list_jobs()] == [JobKind.TRAIN, JobKind.GENERATE]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    db.close()


def test_an_unknown_kind_in_a_row_is_reported_not_skipped(store: JobStore) -> None:
    (job,) = store.create([_train()])
    db = sqlite3.connect(store.path)
    db.execute("UPDATE jobs SET kind = 'paint' WHERE id = ?", (job.id,))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"unknown kind 'paint' \(valid: generate, train\)"):
        store.get(job.id)
