"""The daemon's metric families after real jobs, scraped over real HTTP and parsed.

A service built with a registry (as `serve` builds it) runs jobs on the real engine; its
`/metrics` endpoint is read with `requests` and `prometheus_client.parser`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from service_testkit import FAST, tiny_request
from train_testkit import StepTrainer, dataset_dir

from orchestrator.adapters.metrics import MetricsServer, start_metrics_server
from orchestrator.composition import build_service
from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.service.outputs import FileHasher
from orchestrator.service.train_parts import RegistryDoor, TrainingParts
from orchestrator.service.train_service import TrainJobRequest
from orchestrator.settings import Settings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample of the endpoint, keyed by (sample name, labels)."""
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def daemon(
    make_settings: Callable[..., Settings], orch_engine: Any
) -> Iterator[tuple[Service, MetricsServer]]:
    registry = CollectorRegistry()
    service = build_service(make_settings([orch_engine.url]), workers=2, registry=registry)
    exporter = start_metrics_server(registry, "127.0.0.1", 0)
    service.start()
    yield service, exporter
    service.stop()
    exporter.stop()


def _wait_for(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "the figure never arrived"
        time.sleep(0.1)


def test_job_counters_and_phase_histograms_after_real_jobs(
    daemon: tuple[Service, MetricsServer], orch_engine: Any
) -> None:
    service, exporter = daemon
    jobs = service.submit(tiny_request(count=2))
    assert {service.wait(j.id, 120).state for j in jobs} == {JobState.SUCCEEDED}
    samples = scrape(exporter.url)
    done = {"template": "single_sprite", "state": "succeeded"}
    assert value(samples, "dgxp_jobs_finished_total", **done) == 2
    assert value(samples, "dgxp_jobs_submitted_total", template="single_sprite") == 2
    assert value(samples, "dgxp_images_generated_total", template="single_sprite") == 2
    for phase in ("queued", "running", "delivering"):
        count = "dgxp_job_phase_duration_seconds_count"
        assert value(samples, count, template="single_sprite", phase=phase) == 2, phase
    url = orch_engine.url.rstrip("/")
    assert (
        value(samples, "dgxp_backend_health_check_duration_seconds_count", backend=url) or 0
    ) >= 1
    assert value(samples, "dgxp_backend_up", backend=url) == 1
    assert value(samples, "dgxp_daemon_healthy") == 1
    assert (value(samples, "dgxp_data_dir_disk_total_bytes") or 0) > 0
    _wait_for(lambda: value(scrape(exporter.url), "dgxp_jobs_queued") == 0)
    # per-backend figures of the pool, from the next status sample
    done = {"backend": url, "outcome": "done"}
    _wait_for(lambda: value(scrape(exporter.url), "dgxp_backend_jobs_total", **done) == 2)
    samples = scrape(exporter.url)
    assert value(samples, "dgxp_backend_jobs_total", backend=url, outcome="failed") == 0
    assert (value(samples, "dgxp_backend_job_mean_seconds", backend=url) or 0) > 0


def test_a_cancelled_job_counts_under_its_final_state_and_queue_depth_follows_the_store(
    make_settings: Callable[..., Settings], orch_engine: Any, tmp_path: Path
) -> None:
    registry = CollectorRegistry()
    service = build_service(make_settings([orch_engine.url]), workers=1, registry=registry)
    exporter = start_metrics_server(registry, "127.0.0.1", 0)
    try:  # workers never start: jobs stay queued until cancelled
        first, second = service.submit(tiny_request(count=2))
        assert service.status().queued == 2
        service.cancel(first.id)
        samples = scrape(exporter.url)
        cancelled = {"template": "single_sprite", "state": "cancelled"}
        assert value(samples, "dgxp_jobs_finished_total", **cancelled) == 1
        assert (
            value(samples, "dgxp_jobs_finished_total", template="single_sprite", state="succeeded")
            is None
        )
        assert service.store.get(second.id).state is JobState.QUEUED
    finally:
        service.stop()
        exporter.stop()


def test_a_template_outside_the_library_is_labelled_other() -> None:
    from orchestrator.service.metrics import OTHER_TEMPLATE, DaemonMetrics

    metrics = DaemonMetrics(CollectorRegistry(), templates=["single_sprite"])
    assert metrics.template_label("single_sprite") == "single_sprite"
    assert metrics.template_label("a prompt someone typed") == OTHER_TEMPLATE


def test_train_jobs_count_under_train_lora_not_other(
    tmp_path: Path, tiny_sdxl_checkpoint: Path
) -> None:
    models = tmp_path / "models"
    (models / "checkpoints").mkdir(parents=True)
    os.link(tiny_sdxl_checkpoint, models / "checkpoints" / "tiny_sdxl.safetensors")
    settings = Settings(data_dir=tmp_path / "data", models_dir=models, health_interval_s=0.5)
    parts = TrainingParts(
        choose_trainer=StepTrainer,
        registry=RegistryDoor(models / "loras", FileHasher()),
        device="cpu",
        data_dir=settings.data_dir,
    )
    registry = CollectorRegistry()
    service = build_service(settings, backends=False, training=parts, registry=registry)
    exporter = start_metrics_server(registry, "127.0.0.1", 0)
    try:
        service.start()
        request = TrainJobRequest(dataset_dir=dataset_dir(tmp_path / "ds"), name="knight", steps=2)
        job = service.train(request)
        assert service.wait(job.id, timeout_s=60).state is JobState.SUCCEEDED
        samples = scrape(exporter.url)
    finally:
        service.stop()
        exporter.stop()
    done = {"template": "train_lora", "state": "succeeded"}
    assert value(samples, "dgxp_jobs_finished_total", **done) == 1
    assert value(samples, "dgxp_jobs_submitted_total", template="train_lora") == 1
    count = "dgxp_job_phase_duration_seconds_count"
    assert value(samples, count, template="train_lora", phase="running") == 1
    assert value(samples, "dgxp_jobs_submitted_total", template="other") is None


def test_status_reports_img_per_minute_from_succeeded_jobs(
    daemon: tuple[Service, MetricsServer],
) -> None:
    service, _ = daemon
    (job,) = service.submit(tiny_request(params={**FAST}))
    assert service.wait(job.id, 120).state is JobState.SUCCEEDED
    _wait_for(lambda: service.status().images_per_minute > 0)
    assert service.status().images_per_minute == pytest.approx(1 * 60 / 300)
