"""kill -9 a service process mid-training, start another: it takes the run over once the
lease lapses and resumes it from the newest checkpoint (a step trainer: seconds, not the
minutes of the embedded trainer's version in tests/orchestrator/adapters/cli)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from train_testkit import dataset_dir, latest_checkpoint

from orchestrator.jobs import JobState, JobStore
from orchestrator.service.train_jobs import read_progress, read_result, work_dir_for

ROOT = Path(__file__).resolve().parents[3]

# A service process holding the data dir (as `serve` does) with a 50 ms-per-step trainer;
# `submit` queues a 60-step run (checkpoint every 5) and prints its id.
_CHILD = """
import sys, time
from pathlib import Path
from train_testkit import StepTrainer
from orchestrator.composition import build_service
from orchestrator.service.outputs import FileHasher
from orchestrator.service.train_parts import RegistryDoor, TrainingParts
from orchestrator.service.train_service import TrainJobRequest
from orchestrator.settings import Settings
settings = Settings()
parts = TrainingParts(
    lambda: StepTrainer(step_s=0.05), RegistryDoor(settings.resolved_models_dir / "loras",
    FileHasher()), "cpu", settings.data_dir)
service = build_service(settings, backends=False, training=parts).start()
if sys.argv[1] == "submit":
    spec = Path(sys.argv[3])
    spec.write_text("steps = 60\\nsave_every_n_steps = 5\\n")
    job = service.train(TrainJobRequest(Path(sys.argv[2]), "knight", spec_path=spec,
                                        base=sys.argv[4]))
    print(job.id, flush=True)
time.sleep(600)
"""


def _env(data_dir: Path, models: Path) -> dict[str, str]:
    tests = ROOT / "tests"
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tests), str(tests / "orchestrator")]),
        "DGXP_DATA_DIR": str(data_dir),
        "DGXP_MODELS_DIR": str(models),
        # Short leases: the killed process's run may be taken over 2 s after its last beat.
        "DGXP_LEASE_S": "2",
        "DGXP_HEARTBEAT_S": "0.5",
    }


def _wait(what: str, ready: Callable[[], bool], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_kill_9_mid_run_then_restart_resumes_from_the_newest_checkpoint(tmp_path: Path) -> None:
    data_dir, models = tmp_path / "data", tmp_path / "models"
    base = models / "checkpoints" / "base.safetensors"
    base.parent.mkdir(parents=True)
    base.write_bytes(b"base model bytes")
    env = _env(data_dir, models)
    dataset = dataset_dir(tmp_path / "ds")
    argv = [sys.executable, "-c", _CHILD]
    with subprocess.Popen(
        [*argv, "submit", str(dataset), str(tmp_path / "train.toml"), str(base)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as first:
        try:
            assert first.stdout is not None
            job_id = first.stdout.readline().strip()
            work_dir = work_dir_for(data_dir, job_id)
            _wait("a checkpoint and steps past it", lambda: latest_checkpoint(work_dir) >= 10)
            os.kill(first.pid, signal.SIGKILL)
        finally:
            if first.poll() is None:
                first.kill()
    checkpoint = latest_checkpoint(work_dir)
    with JobStore(data_dir / "jobs.sqlite3") as store:
        assert store.get(job_id).state is JobState.RUNNING  # left running, its lease lapsing
        second = subprocess.Popen([*argv, "serve"], env=env)
        try:
            _wait("the resumed run to finish", lambda: store.get(job_id).state.is_terminal)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
        done = store.get(job_id)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.attempts == 1  # taken over, not run again from the queue
    result = read_result(work_dir)
    assert result is not None
    assert checkpoint <= result.resumed_from < 60 and result.resumed_from % 5 == 0
    assert Path(result.lora_path) == models / "loras" / "knight.safetensors"
    assert [p.step for p in read_progress(work_dir)] == list(range(1, 61))
