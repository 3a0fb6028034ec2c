"""On a GPU machine: the daemon's real NVML telemetry reads non-zero GPU figures while the
in-process engine generates on CUDA, and both `/metrics` endpoints show them.

Run on the device: `python -m pytest -m gpu tests/orchestrator/service/test_gpu_telemetry_cuda.py
-q -p no:cacheprovider -o log_cli=true -o log_cli_level=WARNING` (skipped without CUDA). The
figures seen are logged, so the run's output shows them.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.adapters.metrics import start_metrics_server
from orchestrator.composition import build_service
from orchestrator.service import GenerationRequest, JobState
from orchestrator.service.gpu import GpuReading
from orchestrator.settings import Settings

pytestmark = pytest.mark.gpu
logger = logging.getLogger(__name__)


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False)")


def _samples(url: str) -> dict[str, float]:
    text = requests.get(url, timeout=30).text
    return {
        s.name + str(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_gpu_gauges_are_non_zero_during_a_generation(
    tmp_path: Path, engine_models_dir: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", models_dir=engine_models_dir, health_interval_s=0.2
    )
    registry = CollectorRegistry()
    service = build_service(settings, registry=registry).start()
    exporter = start_metrics_server(registry, "127.0.0.1", 0)
    seen: list[GpuReading] = []
    busy = threading.Event()

    def watch() -> None:  # the figures the sampler publishes, while the jobs run
        while not busy.wait(0.2):
            seen.extend(service.status().gpus)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        params = {"checkpoint": "tiny_sdxl.safetensors", "width": 1024, "height": 1024}
        request = GenerationRequest(prompt="a potion", params={**params, "steps": 30}, count=6)
        jobs = service.submit(request)
        assert {service.wait(j.id, 600).state for j in jobs} == {JobState.SUCCEEDED}
        daemon = _samples(exporter.url)
        engine = _samples(service.pool.urls[0] + "/metrics")
    finally:
        busy.set()
        watcher.join()
        exporter.stop()
        service.stop()
    assert seen, "the daemon reported no GPU: " + str(service.status().gpu_note)
    peak = max(seen, key=lambda g: g.utilization or 0.0)
    logger.warning("GPU readings during the jobs: %d; busiest: %s", len(seen), peak)
    assert (peak.utilization or 0.0) > 0
    assert peak.memory is not None and peak.memory.used_bytes > 0 and peak.memory.total_bytes > 0
    assert all((g.power_watts or 0) > 0 and (g.temperature_c or 0) > 0 for g in seen)
    assert all((g.sm_clock_hz or 0) > 0 and g.throttle_reasons is not None for g in seen)
    gpu_keys = {k: v for k, v in daemon.items() if k.startswith("dgxp_gpu_")}
    logger.warning("daemon /metrics GPU samples: %s", gpu_keys)
    assert daemon["dgxp_gpu_memory_total_bytes[('gpu', '0'), ('source', 'nvml')]"] > 0
    assert daemon["dgxp_gpu_power_watts[('gpu', '0')]"] > 0
    assert (
        daemon["dgxp_jobs_finished_total[('state', 'succeeded'), ('template', 'single_sprite')]"]
        == 6
    )
    vram = engine["dgxp_engine_prompt_peak_vram_bytes[]"]
    logger.warning("engine peak VRAM of the last prompt: %.1f MiB", vram / 2**20)
    assert vram > 0
