"""kill -9 of `dgx-pixels serve` mid-training: the next daemon takes the run over once its
lease lapses and resumes it from the newest checkpoint (the embedded trainer, tiny model).

Slow (two daemons, two model loads, CPU steps); the default suite covers the same take-over
with a service process and a step trainer (tests/orchestrator/service/test_train_kill9.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from daemon_testkit import CLI, daemon_env
from train_testkit import sprite_sources

from orchestrator.jobs import JobState, JobStore
from orchestrator.service.train_jobs import read_progress, read_result, work_dir_for

_SPEC = """\
steps = 16
resolution = 256
rank = 4
alpha = 4
learning_rate = 1e-3
save_every_n_steps = 3
validate_every_n_steps = 1000
"""


@pytest.fixture
def env(tmp_path: Path, tiny_models: Path) -> dict[str, str]:
    return {
        **daemon_env(tmp_path / "data"),
        "DGXP_MODELS_DIR": str(tiny_models),
        "DGXP_TRAIN_DEVICE": "cpu",
        # Short leases: the killed daemon's run may be taken over 2 s after its last beat.
        "DGXP_LEASE_S": "2",
        "DGXP_HEARTBEAT_S": "0.5",
    }


@contextmanager
def _daemon(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`dgx-pixels serve`, up; SIGTERM at the end unless the test killed it. Its output goes
    to `log` (a pipe nobody reads would fill and block the daemon's logging)."""
    argv = [*CLI, "serve", "--workers", "1"]
    with (
        log.open("ab") as sink,
        subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.STDOUT) as daemon,
    ):
        deadline = time.monotonic() + 90
        try:
            while "daemon up" not in log.read_text(errors="replace"):
                assert time.monotonic() < deadline and daemon.poll() is None, log.read_text()
                time.sleep(0.1)
            yield daemon
        finally:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(30)


def _dataset(tmp_path: Path, env: dict[str, str]) -> Path:
    src = sprite_sources(tmp_path / "src")
    out = tmp_path / "ds"
    argv = [*CLI, "train", "dataset", str(src), "-o", str(out), "--trigger", "pxl"]
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=120)
    return out


def _wait(
    what: str,
    ready: Callable[[], bool],
    detail: Callable[[], str] = str,
    timeout_s: float = 180,
) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {detail()}"
        time.sleep(0.1)


@pytest.mark.slow  # two daemon starts, two model loads and 16 CPU steps: 30-90 s
def test_kill_9_mid_training_resumes_from_the_last_checkpoint(
    tmp_path: Path, env: dict[str, str]
) -> None:
    dataset = _dataset(tmp_path, env)
    (tmp_path / "train.toml").write_text(_SPEC)
    data_dir = Path(env["DGXP_DATA_DIR"])
    log = tmp_path / "first-daemon.log"
    with _daemon(env, log) as first:
        argv = [*CLI, "train", "run", str(dataset), "--name", "knight", "--no-wait"]
        argv += ["--spec", str(tmp_path / "train.toml")]
        queued = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert queued.returncode == 0, queued.stderr
        job_id = queued.stdout.strip()
        work_dir = work_dir_for(data_dir, job_id)
        checkpoints = work_dir / "checkpoints"
        # Kill it once a checkpoint exists and the run has moved past it.
        _wait(
            "a checkpoint and a step after it",
            lambda: (
                any(checkpoints.glob("step-*"))
                and max((p.step for p in read_progress(work_dir)), default=0) >= 4
            ),
            detail=lambda: log.read_text(errors="replace")[-3000:],
        )
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    log = tmp_path / "second-daemon.log"
    killed_at = max(p.step for p in read_progress(work_dir))
    assert killed_at < 16
    with JobStore(data_dir / "jobs.sqlite3") as store:
        assert store.get(job_id).state is JobState.RUNNING  # left running, its lease lapsing
    with _daemon(env, log), JobStore(data_dir / "jobs.sqlite3") as store:
        _wait(
            "the resumed run to finish",
            lambda: store.get(job_id).state.is_terminal,
            detail=lambda: log.read_text(errors="replace")[-3000:],
        )
        done = store.get(job_id)
    assert done.state is JobState.SUCCEEDED, done.error
    result = read_result(work_dir)
    assert result is not None
    assert 3 <= result.resumed_from <= killed_at  # from a checkpoint, not from step 0
    assert result.steps == 16
    assert Path(result.lora_path) == Path(env["DGXP_MODELS_DIR"]) / "loras" / "knight.safetensors"
    assert Path(result.lora_path).is_file()
    card = json.loads(Path(result.lora_path).with_suffix(".json").read_text())
    assert card["metrics"]["steps"] == 16
    assert [p.step for p in read_progress(work_dir)][-1] == 16
