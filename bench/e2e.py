"""End-to-end `generate` jobs, submit to files written, split stage by stage.

Runs the real `Service` (admission, store, worker, HTTP/WS client, output writer) against
the embedded engine in two deployments: `inprocess` (the engine's server on a thread of
this process, as `dgx-pixels generate` starts it) and `serve` (`dgx-pixels engine serve`
as its own process on a free loopback port). For each deployment and `--batch` size it
runs one warm-up job (model load, hashing: reported as `first_job_s`) and then `--jobs`
jobs one after another, and splits each job's wall time into contiguous stages:

    admission          Service.submit() (checks, template, store)
    dispatch           submit returned -> the engine accepted the prompt (worker claim,
                       render, POST /prompt with the engine's validation)
    engine_queue       accepted -> the engine's worker took it
    model_load, text_encode, unet_loop, vae, pixelize, png_encode_write, qa_report,
    other_nodes        the engine's own per-node timing (`/dgxp/timings/{prompt_id}`)
    executor_overhead  the prompt's execution minus its nodes
    engine_finish      last node returned -> history entry written
    events             history written -> the orchestrator saw the final `executing` event
    fetch_and_write    final event -> job recorded succeeded (history, /view, sprite,
                       preview, raw, sidecar, store, events)

Then `back_to_back` submits `--jobs` jobs at once (as `generate -n`) and reports the
engine's device-busy fraction and its idle time between prompts: what the GPU waits for.
The engine hands each prompt's host-side tail (pixelize, PNG writes) to another thread, so
the device is busy from `started_at` to `released_at` and idle from one prompt's
`released_at` to the next one's `started_at`.

The stages add up to `e2e_s`; `engine_prompt_s` is the engine's execution of the prompt
and `e2e_over_engine` their ratio (issue 14's target: <= 1.10). Times are epoch seconds
of one machine, so the engine process and this one line up.

    .venv/bin/python bench/e2e.py --tiny                     # CPU, tiny demo model (< 60 s)
    python bench/e2e.py --full-size --models DIR --batch 1 8  # GPU, random 1024² SDXL

Writes `bench/baselines/e2e-<device>[-tiny].json` (or `--out`).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baseline import add_note_argument, device_slug, machine, write_baseline

import orchestrator.service.follow as follow
from orchestrator.comfy.events import ExecutingEvent
from orchestrator.composition import build_service, write_demo_model, write_fullsize_demo_model
from orchestrator.service.job_events import JobEvent, JobEventKind
from orchestrator.service.values import GenerationRequest
from orchestrator.settings import Settings

__all__ = ["STAGES", "main"]

log = logging.getLogger("e2e")
HERE = Path(__file__).resolve().parent
MODES = ("inprocess", "serve")
# Node class -> stage; any other class is `other_nodes`.
NODE_STAGES = {
    "CheckpointLoaderSimple": "model_load",
    "LoraLoader": "model_load",
    "LoraLoaderModelOnly": "model_load",
    "CLIPTextEncode": "text_encode",
    "KSampler": "unet_loop",
    "KSamplerAdvanced": "unet_loop",
    "VAEDecode": "vae",
    "DGXP_PixelizeSprite": "pixelize",
    "SaveImage": "png_encode_write",
    "DGXP_SpriteReport": "qa_report",
}
STAGES = (
    "admission",
    "dispatch",
    "engine_queue",
    *dict.fromkeys(NODE_STAGES.values()),
    "other_nodes",
    "executor_overhead",
    "engine_finish",
    "events",
    "fetch_and_write",
)
_JOB_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Profile:
    """What one run generates: model file, render size, steps and sprite size."""

    checkpoint: str
    size: int
    steps: int
    save_raw: bool = False

    def params(self, batch: int) -> dict[str, Any]:
        sprite = max(4, self.size // 16)  # 1024² -> 64 px, as bench/pixel_speed.py
        return {
            "checkpoint": self.checkpoint,
            "width": self.size,
            "height": self.size,
            "steps": self.steps,
            "batch_size": batch,
            "sprite_size": f"{sprite}x{sprite}",
            "save_raw": self.save_raw,
        }


class _Stamps:
    """Epoch times at which this process saw each job's events and final WS event."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, str], float] = {}
        self.final_event: dict[str, float] = {}  # prompt id -> `executing node=null` seen
        self.changed = threading.Condition()

    def on_event(self, event: JobEvent) -> None:
        with self.changed:
            self.events.setdefault((event.job_id, event.kind.value), time.time())
            self.changed.notify_all()

    def wait_finished(self, job_id: str) -> str:
        ends = {JobEventKind.SUCCEEDED.value, JobEventKind.FAILED.value, "cancelled"}
        with self.changed:
            done = self.changed.wait_for(
                lambda: any((job_id, kind) in self.events for kind in ends), _JOB_TIMEOUT_S
            )
        if not done:
            raise SystemExit(f"job {job_id} did not finish within {_JOB_TIMEOUT_S:.0f} s")
        return next(kind for kind in ends if (job_id, kind) in self.events)


def _stamp_final_events(stamps: _Stamps) -> None:
    """Note when the follower receives `executing node=null` (the backend's last event)."""
    original = follow._Follower.handle

    def handle(self: Any, event: Any) -> Any:
        if isinstance(event, ExecutingEvent) and event.node is None:
            stamps.final_event.setdefault(self.prompt_id, time.time())
        return original(self, event)

    follow._Follower.handle = handle  # type: ignore[method-assign]


def split_stages(
    t0: float, submitted: float, done: float, final: float, engine: dict[str, Any]
) -> dict[str, float]:
    """Contiguous stages (seconds) of one job from its stamps and the engine's timings."""
    stages = dict.fromkeys(STAGES, 0.0)
    # The worker may have posted the prompt before this thread read the clock after
    # submit(): that overlap is admission, so no stage is negative.
    submitted = min(submitted, engine["queued_at"])
    stages["admission"] = submitted - t0
    stages["dispatch"] = engine["queued_at"] - submitted
    stages["engine_queue"] = engine["started_at"] - engine["queued_at"]
    for node in engine["nodes"]:
        stages[NODE_STAGES.get(node["class_type"], "other_nodes")] += node["seconds"]
    node_total = sum(node["seconds"] for node in engine["nodes"])
    stages["executor_overhead"] = engine["execution_s"] - node_total
    stages["engine_finish"] = engine["history_at"] - engine["executed_at"]
    stages["events"] = final - engine["history_at"]
    stages["fetch_and_write"] = done - final
    return stages


def _run_job(
    service: Any, stamps: _Stamps, profile: Profile, batch: int, seed: int
) -> tuple[dict[str, float], float, float]:
    """One job from submit to succeeded; (stages, e2e_s, engine_prompt_s)."""
    # A new prompt per job, as users write them: the text encoders run every time.
    prompt = f"a red health potion, variant {seed}"
    request = GenerationRequest(prompt=prompt, seed=seed, params=profile.params(batch))
    t0 = time.time()
    (job,) = service.submit(request)
    submitted = time.time()
    outcome = stamps.wait_finished(job.id)
    final_job = service.get_job(job.id)
    if outcome != JobEventKind.SUCCEEDED.value:
        raise SystemExit(f"job {job.id} {outcome}: {final_job.error}")
    done = stamps.events[(job.id, JobEventKind.SUCCEEDED.value)]
    engine = _engine_timings(final_job)
    final = stamps.final_event[str(final_job.prompt_id)]
    return split_stages(t0, submitted, done, final, engine), done - t0, engine["execution_s"]


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def _measure(
    service: Any, stamps: _Stamps, profile: Profile, batch: int, jobs: int
) -> dict[str, Any]:
    """A warm-up job, then `jobs` timed jobs; the run's summary."""
    t0 = time.time()
    _run_job(service, stamps, profile, batch, seed=1000 + batch)
    first = time.time() - t0
    per_job = [_run_job(service, stamps, profile, batch, seed=n) for n in range(jobs)]
    e2e = [e for _, e, _ in per_job]
    engine = [p for _, _, p in per_job]
    return {
        "batch": batch,
        "jobs": jobs,
        "first_job_s": round(first, 3),
        "e2e_median_s": _median(e2e),
        "engine_prompt_median_s": _median(engine),
        "e2e_over_engine": _median([e / p for e, p in zip(e2e, engine, strict=True)]),
        "images_per_min": round(60.0 * batch / statistics.median(e2e), 2),
        "stages_median_s": {s: _median([st[s] for st, _, _ in per_job]) for s in STAGES},
        "per_job": [
            {"e2e_s": round(e, 4), **{s: round(st[s], 4) for s in STAGES}} for st, e, _ in per_job
        ],
        "back_to_back": _back_to_back(service, stamps, profile, batch, jobs),
    }


def _back_to_back(
    service: Any, stamps: _Stamps, profile: Profile, batch: int, jobs: int
) -> dict[str, Any]:
    """`jobs` submitted at once (as `generate -n`), the service's default workers: how
    long the engine sits idle between one prompt's history and the next prompt's start
    (the time the GPU waits on PNG writes, fetches and the orchestrator)."""
    request = GenerationRequest(
        prompt="a red health potion", seed=500, count=jobs, params=profile.params(batch)
    )
    t0 = time.time()
    queued = service.submit(request)
    for job in queued:
        if stamps.wait_finished(job.id) != JobEventKind.SUCCEEDED.value:
            raise SystemExit(f"job {job.id} failed: {service.get_job(job.id).error}")
    wall = max(stamps.events[(j.id, JobEventKind.SUCCEEDED.value)] for j in queued) - t0
    runs = sorted((_engine_timings(service.get_job(j.id)) for j in queued), key=_started)
    busy = sum(_released(run) - run["started_at"] for run in runs)
    gaps = [b["started_at"] - _released(a) for a, b in itertools.pairwise(runs)]
    return {
        "jobs": jobs,
        "wall_s": round(wall, 3),
        "images_per_min": round(60.0 * batch * jobs / wall, 2),
        "engine_busy_fraction": round(busy / wall, 3),
        "engine_idle_between_prompts_median_s": _median(gaps) if gaps else None,
    }


def _started(run: dict[str, Any]) -> float:
    return float(run["started_at"])


def _released(run: dict[str, Any]) -> float:
    """When the engine's device thread was done with the prompt (older engines: history)."""
    return float(run.get("released_at", run["history_at"]))


def _engine_timings(job: Any) -> dict[str, Any]:
    url = f"{job.backend}/dgxp/timings/{job.prompt_id}"
    timings: dict[str, Any] = requests.get(url, timeout=30).json()
    return timings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _engine_process(work: Path, models: Path, cpu: bool) -> Iterator[str]:
    """`dgx-pixels engine serve` in its own process on a free port; yields its URL."""
    port = _free_port()
    command = [sys.executable, "-c", "from orchestrator.adapters.cli.app import main; main()"]
    command += ["engine", "serve", "--port", str(port), "--models", str(models)]
    command += ["--out", str(work / "engine-out"), "--input", str(work / "engine-in")]
    command += ["--cpu"] if cpu else []
    env = {**os.environ, "DGXP_DATA_DIR": str(work / "engine-data")}
    work.mkdir(parents=True, exist_ok=True)
    log_path = work / "engine-serve.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, process, log_path)
        yield url
    finally:
        process.terminate()
        process.wait(60)
        log_file.close()


def _wait_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/system_stats", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.2)
    # Its own words say why (a usage error, a missing package, a refused setting).
    tail = log_path.read_text(errors="replace").splitlines()[-25:]
    raise SystemExit(
        f"`engine serve` did not come up at {url} (exit {process.poll()}, python "
        f"{sys.executable}); last lines of {log_path}:\n" + "\n".join(tail)
    )


@contextmanager
def _service(mode: str, work: Path, models: Path, cpu: bool) -> Iterator[Any]:
    """A started `Service` whose only backend is the engine of `mode`."""
    with _maybe_engine_process(mode, work, models, cpu) as url:
        settings = Settings(
            data_dir=work / "data",
            models_dir=models,
            output_dir=work / "out",
            backends=[url] if url else [],
        )
        service = build_service(settings).start()  # default workers, as `generate`
        try:
            yield service
        finally:
            service.stop()


@contextmanager
def _maybe_engine_process(mode: str, work: Path, models: Path, cpu: bool) -> Iterator[str]:
    if mode == "serve":
        with _engine_process(work, models, cpu) as url:
            yield url
    else:
        yield ""


def _ensure_model(models: Path, full_size: bool) -> str:
    """The demo checkpoint's file name, written into `models` first if it is missing."""
    from engine.demo_model import DEMO_FILENAME, FULLSIZE_FILENAME

    name = FULLSIZE_FILENAME if full_size else DEMO_FILENAME
    if not (models / "checkpoints" / name).is_file():
        log.info(
            "writing the %s demo checkpoint into %s", "full-size" if full_size else "tiny", models
        )
        if full_size:
            write_fullsize_demo_model(models, overwrite=False, on_progress=lambda done, total: None)
        else:
            write_demo_model(models, overwrite=False, on_stage=lambda stage: None)
    return name


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--tiny", action="store_true", help="Tiny demo model, 128², 2 steps (CPU).")
    size.add_argument("--full-size", action="store_true", help="Full-size random SDXL (GPU).")
    p.add_argument("--models", type=Path, help="models/ folder (default: a temp folder).")
    p.add_argument("--jobs", type=int, default=5, help="Timed jobs per mode and batch (5).")
    p.add_argument("--batch", type=int, nargs="+", default=[1], help="Batch sizes (1).")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="Deployments.")
    p.add_argument("--steps", type=int, help="Sampler steps (tiny 2, full size 30).")
    p.add_argument("--size", type=int, help="Square render size (tiny 128, full size 1024).")
    p.add_argument(
        "--save-raw", action="store_true", help="Also write the full-size render (save_raw)."
    )
    p.add_argument("--out", type=Path, help="Result JSON (default bench/baselines/e2e-<device>).")
    add_note_argument(p)
    args = p.parse_args(argv)
    if args.jobs < 1 or min(args.batch) < 1:
        p.error(f"--jobs {args.jobs} and --batch {args.batch} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run every mode x batch and write the baseline JSON; returns the report."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="dgxp-e2e-"))
    models = args.models or work / "models"
    profile = Profile(
        _ensure_model(models, args.full_size),
        args.size or (1024 if args.full_size else 128),
        args.steps or (30 if args.full_size else 2),
        args.save_raw,
    )
    device = device_slug()
    stamps = _Stamps()
    _stamp_final_events(stamps)
    runs = []
    for mode in args.modes:
        with _service(mode, work / mode, models, device == "cpu") as service:
            service.subscribe(stamps.on_event)
            for batch in args.batch:
                log.info("%s, batch %d: %d jobs", mode, batch, args.jobs)
                runs.append({"mode": mode, **_measure(service, stamps, profile, batch, args.jobs)})
    report = _report(args, profile, device, runs, load_before)
    suffix = "-tiny" if args.tiny else ""
    write_baseline(args.out or HERE / "baselines" / f"e2e-{device}{suffix}.json", report)
    _log_summary(runs)
    return report


def _report(
    args: argparse.Namespace, profile: Profile, device: str, runs: list[Any], load: Any
) -> dict[str, Any]:
    return {
        "benchmark": "e2e",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": device,
        "model": profile.checkpoint,
        "size": profile.size,
        "steps": profile.steps,
        "template": "single_sprite",
        "sprite_size": profile.params(1)["sprite_size"],
        "save_raw": profile.save_raw,
        "stage_order": list(STAGES),
        "target_e2e_over_engine": 1.10,
        "runs": runs,
        "machine": machine(load, args.note),
    }


def _log_summary(runs: list[dict[str, Any]]) -> None:
    for run in runs:
        top = sorted(run["stages_median_s"].items(), key=lambda kv: kv[1], reverse=True)[:5]
        log.info(
            "%s batch %d: e2e %.3f s, engine %.3f s (x%.2f); %s",
            run["mode"],
            run["batch"],
            run["e2e_median_s"],
            run["engine_prompt_median_s"],
            run["e2e_over_engine"],
            ", ".join(f"{k} {v:.3f}" for k, v in top),
        )


if __name__ == "__main__":
    main()
