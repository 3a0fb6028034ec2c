"""Throughput against the number of engines: one engine per GPU behind the daemon's pool.

For each N in `--engines` it starts `dgx-pixels engine serve --gpus SPEC --group bench` (a
real supervisor with N engine processes: `0,1,…` one per GPU, `0,0,…` with `--same-gpu`
on a one-GPU machine, `cpu:N` with `--device cpu`), builds the daemon's `Service` on
`backends=["engine://bench"]` (workers = N x backend_max_in_flight), warms every member
with one job pinned to it (model load), then submits `--jobs` jobs at once and times the
first submit to the last job done. It records per N:

    img_per_min      jobs x batch / wall minutes
    efficiency       img_per_min_N / (N x img_per_min_1)   (target >= 0.95, one per GPU)
    speedup          img_per_min_N / img_per_min_1
    per_backend      jobs done/failed, mean job s, last model (the pool's own figures)
    lost, duplicated jobs not succeeded / sprite files named twice, checked from the store

then, at the largest N >= 2, a kill run: the same jobs, and member N-1 is killed (SIGKILL)
once a quarter of them are done; its jobs finish on the others (recorded separately, with
the supervisor's restart count). With `--same-gpu` the engines share one GPU, so the
figures exercise supervision, dispatch and failover and say how much a second engine
overlaps the first's host-side gaps; they are no scaling measurement (`mode` says which).

    .venv/bin/python bench/scale_out.py --device cpu --engines 1 2 --jobs 16   # CPU dry run
    python bench/scale_out.py --engines 1 2 --same-gpu --jobs 16               # one GPU
    python bench/scale_out.py                                                  # 1, 2, 4 … GPUs

Writes bench/baselines/scale_out.json (`--out`; the CPU dry run scale_out-cpu-tiny.json)
with the device name, the machine and every run, as soon as each run ends.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baseline import add_note_argument, machine, write_baseline

from orchestrator.composition import build_service, write_demo_model, write_fullsize_demo_model
from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.service.values import GenerationRequest
from orchestrator.settings import Settings

__all__ = ["main"]

log = logging.getLogger("scale_out")
HERE = Path(__file__).resolve().parent
GROUP = "bench"
TARGET_EFFICIENCY = 0.95
_CLI = [sys.executable, "-c", "from orchestrator.adapters.cli.app import main; main()"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--engines", type=int, nargs="+", help="N values (default: 1, 2, 4 … up to the GPUs)"
    )
    parser.add_argument("--same-gpu", action="store_true", help="all N engines on GPU 0")
    parser.add_argument("--device", choices=("cuda", "cpu"), default=None)
    parser.add_argument("--jobs", type=int, default=64, help="jobs per run (default 64)")
    parser.add_argument("--size", type=int, help="render size (default 1024; CPU 64)")
    parser.add_argument("--steps", type=int, help="sampler steps (default 30; CPU 2)")
    parser.add_argument("--max-in-flight", type=int, default=2, help="backend_max_in_flight")
    parser.add_argument("--no-kill", action="store_true", help="skip the kill-one-engine run")
    parser.add_argument("--models", type=Path, help="models folder (default: a temp one)")
    parser.add_argument("--out", type=Path, help="JSON path")
    add_note_argument(parser)
    return parser.parse_args(argv)


def _device_name(device: str) -> tuple[str, int]:
    """The GPU's name (for the file) and how many GPUs there are; ("cpu", 0) on a CPU."""
    if device == "cpu":
        return "cpu", 0
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: use --device cpu for a dry run")
    return torch.cuda.get_device_name(0), torch.cuda.device_count()


def _engine_counts(args: argparse.Namespace, gpus: int) -> list[int]:
    if args.engines:
        return sorted(set(args.engines))
    top = 2 if args.same_gpu or gpus == 0 else gpus
    counts = [1]
    while counts[-1] * 2 <= top:
        counts.append(counts[-1] * 2)
    return counts + ([top] if counts[-1] != top else [])


def _spec(n: int, device: str, same_gpu: bool) -> str:
    if device == "cpu":
        return f"cpu:{n}"
    return ",".join("0" if same_gpu else str(i) for i in range(n))


def _free_base_port(n: int) -> int:
    """A port with the n-1 ports after it free too (a race with other programs is possible)."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + n > 65535:
            continue
        try:
            for port in range(base, base + n):
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise SystemExit(f"no {n} consecutive free ports")


def _members(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / "engine" / "groups" / f"{GROUP}.json"
    try:
        members: list[dict[str, Any]] = json.loads(path.read_text())["members"]
    except (OSError, ValueError, KeyError):
        return []
    return members


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/system_stats", timeout=2).ok
    except requests.RequestException:
        return False


@contextmanager
def _engine_group(work: Path, models: Path, spec: str, n: int) -> Iterator[Path]:
    """`dgx-pixels engine serve --gpus SPEC` until the block ends; yields its data dir."""
    data_dir = work / "data"
    command = [*_CLI, "engine", "serve", "--gpus", spec, "--group", GROUP]
    command += ["--port", str(_free_base_port(n)), "--models", str(models)]
    env = {**os.environ, "DGXP_DATA_DIR": str(data_dir)}
    work.mkdir(parents=True, exist_ok=True)
    log_path = work / "engine-group.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            while not (
                len(members := _members(data_dir)) == n and all(_answers(m["url"]) for m in members)
            ):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
                    raise SystemExit(f"engine group {spec} did not come up:\n{tail}")
                time.sleep(0.5)
            yield data_dir
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(90)


def _params(args: argparse.Namespace, checkpoint: str) -> dict[str, Any]:
    sprite = max(4, args.size // 16)
    return {
        "checkpoint": checkpoint,
        "width": args.size,
        "height": args.size,
        "steps": args.steps,
        "sprite_size": f"{sprite}x{sprite}",
    }


def _warm(service: Service, params: dict[str, Any], urls: list[str]) -> float:
    """One job pinned to each member (model load); seconds until all are done."""
    began = time.monotonic()
    jobs = [
        job
        for url in urls
        for job in service.submit(
            GenerationRequest(prompt="warm-up", seed=1, params=params, backend=url)
        )
    ]
    for job in jobs:
        done = service.wait(job.id, 900)
        if done.state is not JobState.SUCCEEDED:
            raise SystemExit(f"warm-up job on {done.backend} failed: {done.error}")
    return time.monotonic() - began


def _feed(
    service: Service, params: dict[str, Any], jobs: int, kill_at: int | None, data_dir: Path
) -> dict[str, Any]:
    """Submit `jobs` at once and wait for all (killing the last member at `kill_at` done)."""
    began = time.monotonic()
    submitted = service.submit(
        GenerationRequest(prompt="a knight with a sword", seed=100, count=jobs, params=params)
    )
    ids = [job.id for job in submitted]
    killed: dict[str, Any] | None = None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn()) as progress:
        task = progress.add_task("jobs", total=jobs)
        while True:
            states = [service.get_job(i).state for i in ids]
            finished = sum(s.is_terminal for s in states)
            progress.update(task, completed=finished)
            if kill_at is not None and killed is None and finished >= kill_at:
                victim = _members(data_dir)[-1]
                os.kill(int(victim["pid"]), signal.SIGKILL)
                killed = {"url": victim["url"], "pid": victim["pid"], "after_done": finished}
                log.info("killed member %s (pid %s)", victim["url"], victim["pid"])
            if finished == jobs:
                break
            time.sleep(0.2)
    wall = time.monotonic() - began
    return {"wall_s": round(wall, 3), "ids": ids, "killed": killed}


def _check(service: Service, ids: list[str]) -> dict[str, Any]:
    """From the store: every job succeeded once, one sprite each, no file twice."""
    jobs = [service.get_job(i) for i in ids]
    files = [f for job in jobs for f in job.outputs]
    per_backend: dict[str, int] = {}
    for job in jobs:
        per_backend[job.backend or "?"] = per_backend.get(job.backend or "?", 0) + 1
    return {
        "succeeded": sum(j.state is JobState.SUCCEEDED for j in jobs),
        "lost": sum(j.state is not JobState.SUCCEEDED for j in jobs),
        "duplicated": len(files) - len(set(files)),
        "sprites": len(files),
        "retried": sum(j.attempts > 1 for j in jobs),
        "errors": sorted({j.error for j in jobs if j.error})[:5],
        "jobs_per_backend": per_backend,
    }


def _pool_figures(service: Service) -> dict[str, Any]:
    return {
        info.url: {
            "healthy": info.healthy,
            "done": info.done,
            "failed": info.failed,
            "mean_job_s": None if info.mean_job_s is None else round(info.mean_job_s, 3),
            "last_model": info.last_model,
        }
        for info in service.pool.infos()
    }


def _run(
    args: argparse.Namespace, work: Path, models: Path, checkpoint: str, n: int, kill: bool
) -> Iterator[tuple[str, dict[str, Any]]]:
    """One group of N engines: warm, feed, check (and, with `kill`, a second feed with a
    kill); yields ("run", figures) and then ("kill_run", figures) as each one ends."""
    spec = _spec(n, args.device, args.same_gpu)
    log.info("N=%d (--gpus %s)", n, spec)
    with _engine_group(work / f"n{n}", models, spec, n) as data_dir:
        settings = Settings(
            data_dir=data_dir,
            models_dir=models,
            output_dir=work / f"n{n}" / "out",
            backends=[f"engine://{GROUP}"],
            backend_max_in_flight=args.max_in_flight,
            health_interval_s=1.0,
            job_timeout_s=1800.0,
        )
        service = build_service(settings, workers=min(64, n * max(1, args.max_in_flight)))
        service.start()
        try:
            params = _params(args, checkpoint)
            urls = [m["url"] for m in _members(data_dir)]
            warm_s = _warm(service, params, urls)
            yield "run", _measured(service, params, args.jobs, n, spec, None, data_dir, warm_s)
            if kill:
                kill_at = max(1, args.jobs // 4)
                killed = _measured(service, params, args.jobs, n, spec, kill_at, data_dir, 0)
                killed["restarts"] = {m["url"]: m["restarts"] for m in _members(data_dir)}
                yield "kill_run", killed
        finally:
            service.stop()


def _measured(
    service: Service,
    params: dict[str, Any],
    jobs: int,
    n: int,
    spec: str,
    kill_at: int | None,
    data_dir: Path,
    warm_s: float,
) -> dict[str, Any]:
    fed = _feed(service, params, jobs, kill_at, data_dir)
    check = _check(service, fed["ids"])
    return {
        "engines": n,
        "gpus_spec": spec,
        "warm_s": round(warm_s, 3),
        "wall_s": fed["wall_s"],
        "img_per_min": round(check["sprites"] * 60.0 / fed["wall_s"], 3),
        **({"killed": fed["killed"]} if kill_at is not None else {}),
        **check,
        "per_backend": _pool_figures(service),
    }


def _score(runs: list[dict[str, Any]], base: float) -> None:
    for run in runs:
        n = run["engines"]
        run["speedup"] = round(run["img_per_min"] / base, 4) if base else None
        run["efficiency"] = round(run["img_per_min"] / (n * base), 4) if base else None


def _ensure_model(models: Path, tiny: bool) -> str:
    from engine.demo_model import DEMO_FILENAME, FULLSIZE_FILENAME

    name = DEMO_FILENAME if tiny else FULLSIZE_FILENAME
    if not (models / "checkpoints" / name).is_file():
        log.info("writing the %s demo checkpoint into %s", "tiny" if tiny else "full-size", models)
        if tiny:
            write_demo_model(models, overwrite=False, on_stage=lambda stage: None)
        else:
            write_fullsize_demo_model(models, overwrite=False, on_progress=lambda d, t: None)
    return name


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run every N (and the kill run) and write the baseline JSON; returns the report."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    args.device = args.device or ("cuda" if _has_cuda() else "cpu")
    cpu = args.device == "cpu"
    args.size = args.size or (64 if cpu else 1024)
    args.steps = args.steps or (2 if cpu else 30)
    name, gpus = _device_name(args.device)
    counts = _engine_counts(args, gpus)
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="dgxp-scale-"))
    models = args.models or work / "models"
    checkpoint = _ensure_model(models, tiny=cpu)
    mode = "cpu-dry-run" if cpu else ("single-gpu" if args.same_gpu else "one-engine-per-gpu")
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    out = args.out or HERE / "baselines" / ("scale_out-cpu-tiny.json" if cpu else "scale_out.json")
    report: dict[str, Any] = {
        "benchmark": "scale_out",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": name,
        "device_slug": slug,
        "gpus_on_machine": gpus,
        "mode": mode,
        "model": checkpoint,
        "size": args.size,
        "steps": args.steps,
        "jobs_per_run": args.jobs,
        "backend_max_in_flight": args.max_in_flight,
        "target_efficiency": TARGET_EFFICIENCY,
        "runs": [],
        "kill_run": None,
    }
    for n in counts:
        kill = not args.no_kill and n == counts[-1] and n >= 2
        for kind, figures in _run(args, work, models, checkpoint, n, kill):
            if kind == "run":
                report["runs"].append(figures)
            else:
                report["kill_run"] = figures
            _record(report, out, load_before, args.note)  # a time limit keeps what was done
    _summary(report)
    return report


def _record(report: dict[str, Any], out: Path, load_before: Any, note: str) -> None:
    """Score the runs against N=1 and write the JSON."""
    first = report["runs"][0]
    base = first["img_per_min"] if first["engines"] == 1 else 0.0
    _score(report["runs"], base)
    if report["kill_run"]:
        _score([report["kill_run"]], base)
    report["machine"] = machine(load_before, note)
    write_baseline(out, report)


def _has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _summary(report: dict[str, Any]) -> None:
    runs = report["runs"] + ([report["kill_run"]] if report["kill_run"] else [])
    for run in runs:
        log.info(
            "%s N=%d: %.2f img/min, efficiency %s, lost %d, duplicated %d, retried %d",
            "kill" if "killed" in run else "run",
            run["engines"],
            run["img_per_min"],
            run["efficiency"],
            run["lost"],
            run["duplicated"],
            run["retried"],
        )


if __name__ == "__main__":
    main()
