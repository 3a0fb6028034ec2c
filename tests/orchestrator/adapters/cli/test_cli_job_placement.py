"""A job runs where it was asked (issue 9, Deliver 4), through the real CLI:

- `generate -o REL --backend URL` while a real `dgx-pixels serve` process holds the data
  dir: the daemon runs the job, on that URL (not in its pool) and into that folder.
- `generate` with no daemon runs only its own job, never an unrelated queued or retried one.
- a `generate` that times out, or gets SIGTERM, leaves its job cancelled with a reason
  saying how to run it again, its backend prompt deleted; `jobs retry` and `jobs cancel`
  both accept it.
- `jobs cancel` deletes / interrupts the prompt on the job's backend when nobody follows it.

Engines that must be kept busy are the test's own (`make_engine`), held by a "blocker"
prompt of 10,000 steps sent straight to them, so a job queued behind it cannot finish.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cli_testkit import cli_env
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app
from orchestrator.comfy.client import ComfyClient
from orchestrator.jobs import Job, JobState, JobStore, NewJob
from orchestrator.workflows import TemplateLibrary, default_templates_dir

ROOT = Path(__file__).resolve().parents[4]
TINY = [
    "--param",
    "checkpoint=tiny_sdxl.safetensors",
    "--param",
    "width=64",
    "--param",
    "height=64",
]
FAST = {"prompt": "a coin", "checkpoint": "tiny_sdxl.safetensors", "width": 64, "height": 64}
CLI = [sys.executable, "-c", "from orchestrator.adapters.cli.app import main; main()"]


@pytest.fixture
def env(tmp_path: Path, engine_models_dir: Path) -> dict[str, str]:
    return cli_env(tmp_path, engine_models_dir, DGXP_HEALTH_INTERVAL_S="0.5")


def _store(env: dict[str, str]) -> JobStore:
    return JobStore(Path(env["DGXP_DATA_DIR"]) / "jobs.sqlite3")


def _cli(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def _graph(steps: int, seed: int = 1) -> dict[str, Any]:
    graph = (
        TemplateLibrary(default_templates_dir()).get("single_sprite").render({**FAST, "seed": seed})
    )
    graph["3"]["inputs"]["steps"] = steps  # the KSampler (past the template's 150 cap)
    return graph


@contextmanager
def _blocked(engine_url: str) -> Iterator[ComfyClient]:
    """The engine busy with a 10,000-step prompt until the block ends."""
    with ComfyClient(engine_url) as client:
        blocker = uuid.uuid4().hex
        client.submit(_graph(10_000), "blocker", prompt_id=blocker)
        _until(lambda: blocker in client.queue().running, "the blocker never started")
        try:
            yield client
        finally:
            client.delete_queued(list(client.queue().pending))
            client.interrupt()
            _until(lambda: not client.queue().load, "the engine never went idle")


def _until(ready: Callable[[], bool], why: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, why
        time.sleep(0.05)


def _in_queue(client: ComfyClient, prompt_id: str | None) -> bool:
    queue = client.queue()
    return prompt_id in queue.running or prompt_id in queue.pending


def _only_job(env: dict[str, str]) -> Job:
    with _store(env) as store:
        (job,) = store.list_jobs()
    return job


@contextmanager
def _daemon(env: dict[str, str], backend: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real `dgx-pixels serve` on the data dir (output to `log`, so it never blocks)."""
    data = env["DGXP_DATA_DIR"]
    daemon_env = {
        **os.environ,
        **env,
        "PYTHONPATH": str(ROOT),
        "DGXP_ZMQ_ROUTER": f"ipc://{data}/zmq-router",
        "DGXP_ZMQ_PUB": f"ipc://{data}/zmq-pub",
    }
    with log.open("wb") as sink:
        daemon = subprocess.Popen(
            [*CLI, "serve", "--backend", backend, "--workers", "1"],
            env=daemon_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _until(lambda: "daemon up" in log.read_text(errors="replace"), "serve never came up")
        yield daemon
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(10)


def test_generate_while_a_daemon_serves_runs_there_with_its_out_and_backend(
    make_engine: Callable[[], Any], env: dict[str, str], tmp_path: Path
) -> None:
    daemons_engine, asked_engine = make_engine(), make_engine()
    log = tmp_path / "serve.log"
    asked = ("--backend", asked_engine.url, "--steps", "1")
    with _daemon(env, daemons_engine.url, log):
        result = subprocess.run(
            [*CLI, "generate", "a coin", "--seed", "9", *TINY, *("-o", "rel-out"), *asked],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stderr
    job = _only_job(env)
    out = tmp_path / "rel-out"
    assert job.state is JobState.SUCCEEDED and job.out_dir == str(out)  # stored absolute
    assert job.preferred_backends == (asked_engine.url,) and job.backend == asked_engine.url
    (sprite,) = [Path(p) for p in job.outputs]
    assert sprite.is_file() and sprite.is_relative_to(out)
    assert str(sprite) in result.stdout.split()
    assert f"job {job.short_id}: succeeded" in log.read_text(errors="replace")  # ran there
    with ComfyClient(asked_engine.url) as ran, ComfyClient(daemons_engine.url) as other:
        assert ran.history(job.prompt_id or "") is not None
        assert other.history(job.prompt_id or "") is None


def test_generate_without_a_daemon_runs_only_its_own_job(
    orch_engine: Any, env: dict[str, str]
) -> None:
    with _store(env) as store:
        unrelated, retried = store.create([NewJob("single_sprite", FAST, 1)] * 2)
        store.mark_submitted(retried.id, "p-old", "http://127.0.0.1:9")
        store.mark_failed(retried.id, "it broke", retryable=True)
        retried = store.requeue(retried.id)  # what `jobs retry --queue-only` leaves
    result = _cli(
        ["generate", "a gem", "--seed", "3", "--steps", "1", *TINY, "--backend", orch_engine.url],
        env,
    )
    assert result.exit_code == 0, result.output
    with _store(env) as store:
        mine = [j for j in store.list_jobs() if j.id not in (unrelated.id, retried.id)]
        assert [j.state for j in mine] == [JobState.SUCCEEDED]
        assert store.get(unrelated.id) == unrelated  # untouched: not claimed, not run
        assert store.get(retried.id) == retried


def test_a_timed_out_generate_cancels_its_job_so_retry_and_cancel_accept_it(
    make_engine: Callable[[], Any], env: dict[str, str]
) -> None:
    engine = make_engine()
    args = ["generate", "a gem", "--seed", "5", "--steps", "1", *TINY, "--backend", engine.url]
    with _blocked(engine.url) as client:
        result = _cli([*args, "--timeout", "3"], env)
        job = _only_job(env)
        assert not _in_queue(client, job.prompt_id)  # deleted from the engine's queue
    assert result.exit_code == 1
    assert job.state is JobState.CANCELLED and job.lease is None
    assert job.error == (
        f"generate timed out after 3 s: `dgx-pixels jobs retry {job.short_id}` runs it again"
    )
    again = _cli(["jobs", "cancel", job.short_id], env)
    assert again.exit_code == 0 and "already cancelled, nothing to do" in again.output
    assert _only_job(env) == job  # the no-op changed nothing
    queued = _cli(["jobs", "retry", job.short_id, "--queue-only"], env)
    assert queued.exit_code == 0, queued.output
    assert _only_job(env).state is JobState.QUEUED
    retried = _cli(["jobs", "retry", job.short_id], env)  # not retryable while queued
    assert retried.exit_code == 1 and "only failed or cancelled" in " ".join(retried.output.split())
    assert _cli(["jobs", "cancel", job.short_id], env).exit_code == 0
    ran = _cli(["jobs", "retry", job.short_id, "--timeout", "120"], env)  # runs it here
    assert ran.exit_code == 0, ran.output
    done = _only_job(env)
    assert done.state is JobState.SUCCEEDED and Path(done.outputs[0]).is_file()


def test_sigterm_to_generate_cancels_its_job_and_deletes_the_prompt(
    make_engine: Callable[[], Any], env: dict[str, str]
) -> None:
    engine = make_engine()
    backend = ("--backend", engine.url)
    with _blocked(engine.url) as client:
        generate = subprocess.Popen(
            [*CLI, "generate", "a gem", "--seed", "6", "--steps", "1", *TINY, *backend],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with _store(env) as store:
                _until(
                    lambda: [j.state for j in store.list_jobs()] == [JobState.SUBMITTED],
                    "generate never sent its job",
                )
            sent = _only_job(env)
            _until(lambda: _in_queue(client, sent.prompt_id), "the prompt never reached the queue")
            generate.send_signal(signal.SIGTERM)
            assert generate.wait(60) != 0
        finally:
            if generate.poll() is None:
                generate.kill()
                generate.wait(10)
        job = _only_job(env)
        assert not _in_queue(client, job.prompt_id)
    assert job.state is JobState.CANCELLED
    assert job.error == (
        f"generate was interrupted: `dgx-pixels jobs retry {job.short_id}` runs it again"
    )


def test_jobs_cancel_deletes_and_interrupts_prompts_nobody_follows(
    make_engine: Callable[[], Any], env: dict[str, str]
) -> None:
    engine = make_engine()
    with _store(env) as store:
        running, pending = store.create([NewJob("single_sprite", FAST, 1)] * 2)
    with ComfyClient(engine.url) as client:
        # What a killed process leaves: both sent, one running, one waiting behind it.
        for job, steps in ((running, 10_000), (pending, 1)):
            prompt_id = uuid.uuid4().hex
            with _store(env) as store:
                store.mark_submitted(job.id, prompt_id, engine.url)
            client.submit(_graph(steps), "dead-process", prompt_id=prompt_id)
        running, pending = (_job(env, j.id) for j in (running, pending))
        _until(lambda: running.prompt_id in client.queue().running, "never started")
        assert pending.prompt_id in client.queue().pending

        result = _cli(["jobs", "cancel", pending.short_id], env)
        assert result.exit_code == 0, result.output
        assert pending.prompt_id not in client.queue().pending  # deleted at once
        assert running.prompt_id in client.queue().running  # the other one untouched

        assert _cli(["jobs", "cancel", running.short_id], env).exit_code == 0
        _until(lambda: not client.queue().load, "the running prompt was not interrupted")
        history = client.history(running.prompt_id or "")
        assert history is not None and not history.succeeded
        assert client.history(pending.prompt_id or "") is None  # it never ran
    states = {_job(env, j.id).state for j in (running, pending)}
    assert states == {JobState.CANCELLED}


def _job(env: dict[str, str], job_id: str) -> Job:
    with _store(env) as store:
        return store.get(job_id)


def test_jobs_cancel_of_an_unknown_job_names_it_and_changes_nothing(
    orch_engine: Any, env: dict[str, str]
) -> None:
    with _store(env) as store:
        (job,) = store.create([NewJob("single_sprite", FAST, 1)])
    result = _cli(["jobs", "cancel", "feedbeef"], env)
    assert result.exit_code == 1 and "feedbeef" in result.output
    assert _job(env, job.id) == job
    shown = json.loads(_cli(["jobs", "show", job.short_id, "--json"], env).output)
    assert shown["out_dir"] is None and shown["lease_owner"] is None
