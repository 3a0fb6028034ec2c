"""The SQLite job store: durable, compare-and-set, loud about damage."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.errors import JobNotFound, JobStateError, StoreError
from orchestrator.jobs import JobState, JobStore, Lease, NewJob, SpriteFiles
from orchestrator.jobs.store import SCHEMA_VERSION


def _new(n: int = 1, template: str = "single_sprite") -> list[NewJob]:
    return [NewJob(template=template, params={"prompt": f"potion {i}"}, seed=i) for i in range(n)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    with JobStore(tmp_path / "jobs.sqlite3") as s:
        yield s


def test_created_jobs_survive_reopen_with_all_fields(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    with JobStore(path) as s:
        (job,) = s.create(
            [NewJob("tileset", {"prompt": "grass", "steps": 2}, 7, "b1", {"m": "ab"})]
        )
        s.mark_submitted(job.id, "p-1", "http://a")
        s.mark_running(job.id)
        files = [SpriteFiles(sprite="/o/a.png", sidecar="/o/a.json", preview="/o/a@8x.png")]
        s.mark_succeeded(job.id, files, {"tiny.safetensors": "ff"})
    with JobStore(path) as s:
        again = s.get(job.id)
    assert again.state is JobState.SUCCEEDED
    assert again.params == {"prompt": "grass", "steps": 2}
    assert (again.seed, again.template, again.batch_id) == (7, "tileset", "b1")
    assert (again.prompt_id, again.backend, again.attempts) == ("p-1", "http://a", 1)
    assert again.outputs == ("/o/a.png",) and again.files == tuple(files)
    assert again.hashes == {"tiny.safetensors": "ff"}
    assert again.created_at <= again.submitted_at <= again.started_at <= again.finished_at  # type: ignore[operator]


def test_database_is_in_wal_mode_with_a_schema_version(store: JobStore) -> None:
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    db.close()


@pytest.mark.parametrize("seed", [0, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1])
def test_every_comfyui_seed_is_stored_losslessly(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "jobs.sqlite3"
    with JobStore(path) as s:
        (job,) = s.create([NewJob("single_sprite", {"prompt": "p", "seed": seed}, seed)])
        assert s.get(job.id).seed == seed
        assert [j.seed for j in s.list_jobs()] == [seed]
    with JobStore(path) as s:
        again = s.get(job.id)
    assert (again.seed, again.params["seed"]) == (seed, seed)


def test_seed_outside_the_comfyui_range_is_refused_and_nothing_is_stored(store: JobStore) -> None:
    with pytest.raises(StoreError, match="seed=18446744073709551616"):
        store.create([NewJob("single_sprite", {"prompt": "p"}, 2**64)])
    assert store.count() == 0


# The jobs table exactly as schema versions 1 and 2 wrote it (3 added four columns).
_V2_TABLE = """
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
    template TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL, backend TEXT,
    prompt_id TEXT, created_at REAL NOT NULL, submitted_at REAL, started_at REAL,
    finished_at REAL, error TEXT, retryable INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, files TEXT NOT NULL DEFAULT '[]',
    hashes TEXT NOT NULL DEFAULT '{}', progress_value INTEGER NOT NULL DEFAULT 0,
    progress_max INTEGER NOT NULL DEFAULT 0, batch_id TEXT, worker TEXT, pinned_backend TEXT
)"""


def _old_file(path: Path, version: int) -> None:
    """A database as dgx-pixels with schema `version` (1 or 2) left it: one queued job
    pinned to a backend, one running job (seed 2**63 - 1, the largest v1 could hold)."""
    db = sqlite3.connect(path)
    db.execute(_V2_TABLE)
    db.execute(
        "INSERT INTO jobs (id, state, template, params, seed, created_at, pinned_backend) "
        "VALUES ('a' || hex(randomblob(15)), 'queued', 'tileset', '{\"prompt\":\"grass\"}', "
        "3, 1.0, 'http://pinned:1')"
    )
    db.execute(
        "INSERT INTO jobs (id, state, template, params, seed, created_at, backend, prompt_id) "
        "VALUES ('b' || hex(randomblob(15)), 'running', 'tileset', '{\"prompt\":\"sand\"}', "
        f"{2**63 - 1}, 2.0, 'http://a', 'p-1')"
    )
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


@pytest.mark.parametrize("version", [1, 2])
def test_old_database_is_migrated_keeping_its_rows(tmp_path: Path, version: int) -> None:
    path = tmp_path / "jobs.sqlite3"
    _old_file(path, version)
    with JobStore(path) as s:
        running, queued = s.list_jobs()
        assert (queued.state, queued.pinned_backend) == (JobState.QUEUED, "http://pinned:1")
        assert queued.wanted_backends == ("http://pinned:1",)
        assert (running.state, running.seed, running.prompt_id) == (
            JobState.RUNNING,
            2**63 - 1,
            "p-1",
        )
        for job in (queued, running):  # v2 rows: any backend, the runner's folder, no lease
            assert (job.preferred_backends, job.out_dir, job.lease) == ((), None, None)
        assert [j.id for j in s.takeable("me", now=0.0)] == [running.id]
        s.create([NewJob("tileset", {"prompt": "sand"}, 2**64 - 1, out_dir="/abs/out")])
        assert [j.out_dir for j in s.list_jobs()] == ["/abs/out", None, None]
    with JobStore(path) as s:  # opening a current file again changes nothing
        assert len(s.list_jobs()) == 3
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    db.close()


def test_where_a_job_runs_is_stored_with_it(store: JobStore) -> None:
    new = NewJob("single_sprite", {"prompt": "p"}, 1, out_dir="/abs/out")
    (job,) = store.create([replace(new, preferred_backends=("http://a:1", "http://b:2"))])
    assert job.out_dir == "/abs/out" and job.pinned_backend is None
    assert job.wanted_backends == ("http://a:1", "http://b:2")


def test_a_restricted_claim_takes_only_the_named_jobs(store: JobStore) -> None:
    unrelated, mine = store.create(_new(2))
    assert store.claim_next_queued("cli", only={mine.id}).id == mine.id  # type: ignore[union-attr]
    assert store.claim_next_queued("cli", only={mine.id}) is None
    assert store.claim_next_queued("cli", only=set()) is None
    assert store.get(unrelated.id).worker is None
    assert store.claim_next_queued("daemon").id == unrelated.id  # type: ignore[union-attr]


def test_only_a_missing_expired_or_own_lease_lets_a_job_be_taken_over(store: JobStore) -> None:
    held, expired, unleased = store.create(_new(3))
    store.mark_submitted(held.id, "p1", "http://a", Lease("other", expires_at=200.0))
    store.mark_submitted(expired.id, "p2", "http://a", Lease("other", expires_at=50.0))
    store.mark_submitted(unleased.id, "p3", "http://a")
    assert [j.id for j in store.takeable("me", now=100.0)] == [expired.id, unleased.id]
    assert store.take_over(held.id, Lease("me", 300.0), now=100.0) is None
    assert store.get(held.id).lease == Lease("other", 200.0)  # untouched
    taken = store.take_over(expired.id, Lease("me", 300.0), now=100.0)
    assert taken is not None and taken.lease == Lease("me", 300.0)
    assert store.take_over(expired.id, Lease("third", 400.0), now=100.0) is None
    assert [j.id for j in store.takeable("me", now=100.0)] == [expired.id, unleased.id]
    assert store.renew_leases("me", 500.0) == 1
    assert store.get(expired.id).lease == Lease("me", 500.0)
    assert store.expire_leases("me") == 1
    assert [j.id for j in store.takeable("third", now=100.0)] == [expired.id, unleased.id]


def test_a_claim_holds_a_lease_and_a_lapsed_one_is_given_back(store: JobStore) -> None:
    lapsed, live, unleased = store.create(_new(3))
    assert store.claim_next_queued("dead", lease=Lease("dead", 50.0)).id == lapsed.id  # type: ignore[union-attr]
    assert store.claim_next_queued("cli", lease=Lease("cli", 1e12)).id == live.id  # type: ignore[union-attr]
    assert store.claim_next_queued("old").id == unleased.id  # type: ignore[union-attr]
    assert store.renew_leases("cli", 2e12) == 1  # the heartbeat covers claims too
    assert store.release_lapsed_claims(now=100.0) == 1
    assert (store.get(lapsed.id).worker, store.get(lapsed.id).lease) == (None, None)
    assert store.get(live.id).lease == Lease("cli", 2e12)
    assert store.get(unleased.id).worker == "old"  # no lease: left to release_claims
    assert store.release_claims() == 1  # a restarting daemon spares the live claim
    assert store.get(live.id).worker == "cli" and store.get(unleased.id).worker is None
    store.release(live.id, "cli")
    assert store.get(live.id).lease is None


def test_a_final_or_requeued_job_holds_no_lease(store: JobStore) -> None:
    done, again = store.create(_new(2))
    for job in (done, again):
        store.mark_submitted(job.id, "p", "http://a", Lease("me", 1e12))
    assert store.mark_succeeded(done.id, []).lease is None
    assert store.requeue(again.id, "lost").lease is None
    assert store.renew_leases("me", 2e12) == 0


def test_claim_gives_each_job_to_exactly_one_worker(store: JobStore) -> None:
    store.create(_new(20))
    claimed: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while (job := store.claim_next_queued(name)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 20 and len(set(claimed)) == 20


def test_claims_are_fifo_and_released_on_restart(store: JobStore) -> None:
    first, second = store.create(_new(2))
    assert store.claim_next_queued("w").id == first.id  # type: ignore[union-attr]
    assert store.release_claims() == 1
    assert store.claim_next_queued("w").id == first.id  # type: ignore[union-attr]
    assert store.claim_next_queued("w").id == second.id  # type: ignore[union-attr]
    assert store.claim_next_queued("w") is None


def test_second_collect_of_the_same_job_is_refused(store: JobStore) -> None:
    (job,) = store.create(_new())
    store.mark_submitted(job.id, "p", "http://a")
    store.mark_succeeded(job.id, [])
    with pytest.raises(JobStateError, match="'succeeded'"):
        store.mark_succeeded(job.id, [])


def test_cancel_of_a_finished_job_is_refused(store: JobStore) -> None:
    (job,) = store.create(_new())
    store.mark_failed(job.id, "boom", retryable=True)
    with pytest.raises(JobStateError, match="'failed' to 'cancelled'"):
        store.mark_cancelled(job.id)
    assert store.get(job.id).retryable


def test_requeue_keeps_attempts_and_clears_the_error(store: JobStore) -> None:
    (job,) = store.create(_new())
    store.mark_submitted(job.id, "p1", "http://a")
    store.requeue(job.id, "backend http://a vanished")
    again = store.mark_submitted(job.id, "p2", "http://b")
    assert (again.attempts, again.prompt_id, again.backend, again.error) == (
        2,
        "p2",
        "http://b",
        None,
    )


def test_unknown_job_id_names_it(store: JobStore) -> None:
    with pytest.raises(JobNotFound, match="nope"):
        store.get("nope")
    with pytest.raises(JobNotFound):
        store.mark_running("nope")


def test_unique_prefix_finds_the_job(store: JobStore) -> None:
    (job,) = store.create(_new())
    assert store.get(job.id[:8]).id == job.id


def test_progress_is_ignored_once_finished(store: JobStore) -> None:
    (job,) = store.create(_new())
    store.mark_submitted(job.id, "p", "http://a")
    store.set_progress(job.id, 1, 4)
    assert store.get(job.id).progress == (1, 4)
    store.mark_cancelled(job.id)
    store.set_progress(job.id, 2, 4)
    assert store.get(job.id).progress == (1, 4)


def test_list_filters_by_state_newest_first(store: JobStore) -> None:
    a, b, c = store.create(_new(3))
    store.mark_cancelled(b.id)
    assert [j.id for j in store.list_jobs()] == [c.id, b.id, a.id]
    assert [j.id for j in store.list_jobs(JobState.CANCELLED)] == [b.id]
    assert store.count(JobState.QUEUED) == 2


def test_garbage_row_is_reported_not_skipped(store: JobStore) -> None:
    (good, bad) = store.create(_new(2))
    db = sqlite3.connect(store.path)
    db.execute("UPDATE jobs SET params = '{not json' WHERE id = ?", (bad.id,))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=f"{bad.id}.*'params'"):
        store.list_jobs()
    assert store.get(good.id).state is JobState.QUEUED


def test_unknown_state_in_a_row_lists_the_valid_ones(store: JobStore) -> None:
    (job,) = store.create(_new())
    db = sqlite3.connect(store.path)
    db.execute("UPDATE jobs SET state = 'zombie' WHERE id = ?", (job.id,))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"'zombie'.*queued"):
        store.get(job.id)


def test_a_file_that_is_not_a_database_is_a_clear_error_and_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match=r"jobs\.sqlite3"):
        JobStore(path)
    assert path.read_bytes().startswith(b"this is not sqlite")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        JobStore(path)


def test_two_connections_never_claim_or_collect_the_same_job(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    with JobStore(path) as a, JobStore(path) as b:  # two connections: as two processes
        jobs = a.create(_new(30))
        claimed: dict[str, list[str]] = {"a": [], "b": []}

        def work(store: JobStore, name: str) -> None:
            while (job := store.claim_next_queued(name)) is not None:
                claimed[name].append(job.id)
                store.mark_submitted(job.id, f"p-{job.id}", "http://x")

        threads = [threading.Thread(target=work, args=(s, n)) for s, n in ((a, "a"), (b, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(claimed["a"] + claimed["b"]) == sorted(j.id for j in jobs)
        target = jobs[0].id
        results = []
        for store in (a, b):  # both try to collect the same job: exactly one wins
            try:
                store.mark_succeeded(target, [])
                results.append("won")
            except JobStateError:
                results.append("refused")
        assert sorted(results) == ["refused", "won"]
