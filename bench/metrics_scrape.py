"""`/metrics` scrape time while jobs run, and whether scraping slows the jobs down.

Runs the daemon's composition (`build_service` with a `CollectorRegistry`, the in-process
CPU engine on the tiny demo model, the `/metrics` endpoint `serve --metrics-port` starts):

1. `--jobs` jobs with nobody scraping (the jobs' wall time, for comparison);
2. the same number again while a scraper in another process (as Prometheus is) scrapes
   the daemon's `/metrics` and the engine's `/metrics` every `--interval` seconds (0.05 s
   by default: 300 times Prometheus' usual 15 s; `--interval 0` scrapes back to back),
   recording each scrape's wall time.

Reports p50/p90/p99/max per endpoint and both job wall times. Scrapes read the daemon's
status snapshot and the metric objects; none touches the job store or waits for a job.

    .venv/bin/python bench/metrics_scrape.py        # writes bench/baselines/metrics_scrape.json
    .venv/bin/python bench/metrics_scrape.py --jobs 4 --out /tmp/m.json
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from baseline import add_note_argument, machine, write_baseline
from prometheus_client import CollectorRegistry

from orchestrator.adapters.metrics import start_metrics_server
from orchestrator.composition import build_service, write_demo_model
from orchestrator.service import GenerationRequest, JobState, Service
from orchestrator.settings import Settings

log = logging.getLogger("bench.metrics_scrape")

SIZE, STEPS = 128, 8  # the tiny demo model at 128²; 8 steps so a pass lasts ~10 s on a CPU


def _stats(samples_s: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples_s)

    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, int(p * len(ms)))], 2)

    return {
        "scrapes": len(ms),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(ms[-1], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def _run_jobs(service: Service, checkpoint: str, count: int, seed: int) -> float:
    """Submit `count` jobs at once and wait for all; their wall time in seconds."""
    params = {"checkpoint": checkpoint, "width": SIZE, "height": SIZE, "steps": STEPS}
    begun = time.perf_counter()
    jobs = service.submit(
        GenerationRequest(prompt="a red potion", seed=seed, params=params, count=count)
    )
    for job in jobs:
        done = service.wait(job.id, 900)
        if done.state is not JobState.SUCCEEDED:
            raise RuntimeError(f"job {done.short_id} ended {done.state}: {done.error}")
    return time.perf_counter() - begun


def _scrape_until(
    urls: dict[str, str], interval_s: float, ready: Any, stop: Any, out: Any
) -> None:  # runs in the scraper process
    took: dict[str, list[float]] = {name: [] for name in urls}
    with requests.Session() as http:
        for url in urls.values():  # connect (and warm up) before the jobs start
            http.get(url, timeout=30).raise_for_status()
        ready.set()
        while not stop.is_set():
            for name, url in urls.items():
                begun = time.perf_counter()
                reply = http.get(url, timeout=30)
                took[name].append(time.perf_counter() - begun)
                reply.raise_for_status()
            stop.wait(interval_s)
    out.put(took)


def _scraped(
    service: Service, checkpoint: str, jobs: int, urls: dict[str, str], interval_s: float
) -> tuple[float, dict[str, list[float]]]:
    """Run `jobs` while another process scrapes `urls`; (jobs' wall time, scrape times)."""
    spawn = multiprocessing.get_context("spawn")  # no fork of a process full of threads
    ready, stop, out = spawn.Event(), spawn.Event(), spawn.Queue()
    scraper = spawn.Process(target=_scrape_until, args=(urls, interval_s, ready, stop, out))
    scraper.start()
    if not ready.wait(120):
        raise RuntimeError("the scraper process never reached the endpoints")
    try:
        wall_s = _run_jobs(service, checkpoint, jobs, seed=200)
    finally:
        stop.set()
    took: dict[str, list[float]] = out.get(timeout=60)
    scraper.join(30)
    return wall_s, took


def run(jobs: int, workers: int, interval_s: float) -> dict[str, Any]:
    """Both passes in a fresh data dir; the report's figures."""
    with tempfile.TemporaryDirectory(prefix="dgxp-metrics-bench-") as tmp:
        models = Path(tmp) / "models"
        demo = write_demo_model(models, overwrite=False, on_stage=lambda stage: None)
        settings = Settings(data_dir=Path(tmp) / "data", models_dir=models, workers=workers)
        registry = CollectorRegistry()
        service = build_service(settings, registry=registry).start()
        exporter = start_metrics_server(registry, "127.0.0.1", 0)
        try:
            _run_jobs(service, demo.path.name, 1, seed=1)  # warm-up: model load, hashing
            quiet_s = _run_jobs(service, demo.path.name, jobs, seed=100)
            urls = {"daemon": exporter.url, "engine": service.pool.urls[0] + "/metrics"}
            scraped_s, result = _scraped(service, demo.path.name, jobs, urls, interval_s)
        finally:
            exporter.stop()
            service.stop()
    return {
        "jobs_wall_s_quiet": round(quiet_s, 3),
        "jobs_wall_s_while_scraped": round(scraped_s, 3),
        "scrape": {name: _stats(samples) for name, samples in result.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8, help="Jobs per pass.")
    parser.add_argument("--workers", type=int, default=2, help="Daemon worker threads.")
    parser.add_argument("--interval", type=float, default=0.05, help="Seconds between scrapes.")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "baselines" / "metrics_scrape.json"
    )
    add_note_argument(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    load = os.getloadavg()
    figures = run(args.jobs, args.workers, args.interval)
    report = {
        "benchmark": "metrics_scrape",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "jobs": args.jobs,
        "workers": args.workers,
        "scrape_interval_s": args.interval,
        "model": f"tiny demo, {SIZE}², {STEPS} steps, CPU in-process engine",
        **figures,
        "machine": machine(load, args.note),
    }
    write_baseline(args.out, report)
    log.warning("wrote %s", args.out)


if __name__ == "__main__":
    main()
