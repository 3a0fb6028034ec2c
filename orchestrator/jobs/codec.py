"""Row <-> `Job` conversion for the SQLite store, strict about what it reads.

A row that does not decode raises `StoreError` naming the job and the column: a damaged
database is reported, never skipped (skipping would silently lose jobs).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from orchestrator.errors import StoreError
from orchestrator.jobs.kinds import JobKind
from orchestrator.jobs.models import Job, Lease, SpriteFiles
from orchestrator.jobs.states import JobState

__all__ = ["COLUMNS", "dump_json", "row_to_job", "seed_from_db", "seed_to_db"]

_Member = TypeVar("_Member", bound=StrEnum)
_SEED_SPAN = 1 << 64  # seeds are 0..2**64-1 (ComfyUI's range); SQLite INTEGER is signed 64-bit

COLUMNS = (
    "id, state, template, params, seed, backend, prompt_id, created_at, submitted_at, "
    "started_at, finished_at, error, retryable, attempts, files, hashes, progress_value, "
    "progress_max, batch_id, worker, pinned_backend, preferred_backends, out_dir, lease_owner, "
    "lease_expires, kind"
)


def dump_json(value: object) -> str:
    """Compact, key-sorted JSON (stable for equal values)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def seed_to_db(seed: int) -> int:
    """The seed as SQLite stores it: seeds of 2**63 and more as their signed 64-bit twin
    (`seed - 2**64`, negative), so every seed fits the signed INTEGER column losslessly."""
    if not 0 <= seed < _SEED_SPAN:
        raise StoreError(f"seed={seed}: must be in 0..{_SEED_SPAN - 1} to be stored")
    return seed - _SEED_SPAN if seed >= _SEED_SPAN >> 1 else seed


def seed_from_db(value: object) -> int:
    """Inverse of `seed_to_db` (rows written before schema 2 are all non-negative)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"seed must be an integer, got {value!r}")
    return value + _SEED_SPAN if value < 0 else value


def _load(job_id: str, column: str, text: object) -> Any:
    if not isinstance(text, str):
        raise StoreError(f"job {job_id}: column {column!r} is not JSON text ({text!r})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"job {job_id}: column {column!r} holds invalid JSON ({exc}); the row is damaged — "
            "inspect it with `sqlite3 jobs.sqlite3` or restore a backup"
        ) from exc


def _files(job_id: str, raw: Any) -> tuple[SpriteFiles, ...]:
    if not isinstance(raw, list):
        raise StoreError(f"job {job_id}: column 'files' must be a JSON list, got {raw!r}")
    try:
        return tuple(SpriteFiles.from_dict(item) for item in raw)
    except (KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"job {job_id}: column 'files' has a malformed entry: {exc}") from exc


def _member(vocabulary: type[_Member], job_id: str, column: str, raw: object) -> _Member:
    """`raw` as a member of `vocabulary`, or a StoreError naming the job, column and value."""
    try:
        return vocabulary(str(raw))
    except ValueError as exc:
        valid = ", ".join(member.value for member in vocabulary)
        raise StoreError(f"job {job_id}: unknown {column} {raw!r} (valid: {valid})") from exc


def row_to_job(row: sqlite3.Row) -> Job:
    """Decode one row selected with `COLUMNS`.

    Raises:
        StoreError: Any column does not decode.
    """
    job_id = str(row["id"])
    params = _load(job_id, "params", row["params"])
    hashes = _load(job_id, "hashes", row["hashes"])
    if not isinstance(params, dict) or not isinstance(hashes, dict):
        raise StoreError(f"job {job_id}: 'params' and 'hashes' must be JSON objects")
    files = _files(job_id, _load(job_id, "files", row["files"]))
    preferred = _load(job_id, "preferred_backends", row["preferred_backends"])
    if not isinstance(preferred, list) or not all(isinstance(u, str) for u in preferred):
        raise StoreError(f"job {job_id}: 'preferred_backends' must be a JSON list of URLs")
    try:
        return Job(
            id=job_id,
            state=_member(JobState, job_id, "state", row["state"]),
            template=str(row["template"]),
            params=params,
            seed=seed_from_db(row["seed"]),
            backend=row["backend"],
            prompt_id=row["prompt_id"],
            created_at=float(row["created_at"]),
            submitted_at=_opt_float(row["submitted_at"]),
            started_at=_opt_float(row["started_at"]),
            finished_at=_opt_float(row["finished_at"]),
            error=row["error"],
            retryable=bool(row["retryable"]),
            attempts=int(row["attempts"]),
            outputs=tuple(f.sprite for f in files),
            files=files,
            hashes=_str_map(hashes),
            progress=(int(row["progress_value"]), int(row["progress_max"])),
            batch_id=row["batch_id"],
            worker=row["worker"],
            pinned_backend=row["pinned_backend"],
            preferred_backends=tuple(preferred),
            out_dir=row["out_dir"],
            lease=_lease(row["lease_owner"], row["lease_expires"]),
            kind=_member(JobKind, job_id, "kind", row["kind"]),
        )
    except (TypeError, ValueError) as exc:
        raise StoreError(f"job {job_id}: a column has a value of the wrong type: {exc}") from exc


def _lease(owner: object, expires: object) -> Lease | None:
    if owner is None:
        return None
    return Lease(str(owner), _opt_float(expires) or 0.0)


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float | str):
        return float(value)
    raise TypeError(f"expected a number, got {value!r}")


def _str_map(raw: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in raw.items()}
