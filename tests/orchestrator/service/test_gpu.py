"""GPU telemetry on a machine without a GPU: the real NVML library is missing here (that is
the real no-GPU path), and the unified-memory fallback and mid-run NVML errors are driven
through a stand-in NVML built from the real pynvml's error classes and constants."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.service.gpu import GpuMemory, GpuReading, GpuTelemetry, meminfo_memory
from orchestrator.service.metrics import THROTTLE_REASONS, DaemonMetrics
from orchestrator.service.snapshot import DaemonSnapshot

MEMINFO = "MemTotal:       131072000 kB\nMemFree:  1000 kB\nMemAvailable:   31072000 kB\n"


def _nvml(**overrides: Any) -> SimpleNamespace:
    """NVML as a GB10 answers it: everything but the framebuffer memory query."""

    def not_supported(*_: object) -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    calls: dict[str, Any] = {
        "nvmlInit": lambda: None,
        "nvmlShutdown": lambda: None,
        "nvmlDeviceGetCount": lambda: 1,
        "nvmlDeviceGetHandleByIndex": lambda i: f"handle{i}",
        "nvmlDeviceGetName": lambda h: b"NVIDIA GB10",
        "nvmlDeviceGetUtilizationRates": lambda h: SimpleNamespace(gpu=87, memory=10),
        "nvmlDeviceGetMemoryInfo": not_supported,
        "nvmlDeviceGetPowerUsage": lambda h: 95_500,
        "nvmlDeviceGetTemperature": lambda h, sensor: 71,
        "nvmlDeviceGetClockInfo": lambda h, clock: 2418,
        "nvmlDeviceGetCurrentClocksThrottleReasons": lambda h: (
            pynvml.nvmlClocksThrottleReasonSwThermalSlowdown
            | pynvml.nvmlClocksThrottleReasonSwPowerCap
        ),
    }
    calls.update(overrides)
    constants = {
        name: getattr(pynvml, name) for name in dir(pynvml) if name[:4] in ("NVML", "nvml")
    }
    return SimpleNamespace(**{**constants, **calls})


def test_without_a_driver_the_collector_reports_nothing_and_says_why_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    telemetry = GpuTelemetry()  # the real pynvml: its library is not on this machine
    with caplog.at_level(logging.INFO, logger="orchestrator.service.gpu"):
        assert telemetry.read() == ()
        assert telemetry.read() == ()
    assert telemetry.why_none is not None and "NVML Shared Library Not Found" in telemetry.why_none
    said = [r.getMessage() for r in caplog.records if "no GPU telemetry" in r.getMessage()]
    assert len(said) == 1
    telemetry.close()  # nothing to release: never raises


def test_unified_memory_falls_back_to_meminfo_and_says_so(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(MEMINFO)
    (gpu,) = GpuTelemetry(_nvml(), meminfo).read()
    assert gpu == GpuReading(
        index=0,
        name="NVIDIA GB10",
        utilization=0.87,
        memory=GpuMemory((131072000 - 31072000) * 1024, 131072000 * 1024, "meminfo"),
        power_watts=95.5,
        temperature_c=71.0,
        sm_clock_hz=2418e6,
        throttle_reasons=frozenset({"sw_thermal_slowdown", "sw_power_cap"}),
    )


def test_an_unreadable_meminfo_leaves_memory_unknown(tmp_path: Path) -> None:
    (gpu,) = GpuTelemetry(_nvml(), tmp_path / "missing").read()
    assert gpu.memory is None and gpu.utilization == 0.87
    (tmp_path / "garbled").write_text("MemTotal: lots\n")
    assert meminfo_memory(tmp_path / "garbled") is None


def test_the_real_meminfo_reads_as_used_below_total() -> None:
    memory = meminfo_memory()
    assert memory is not None and memory.source == "meminfo"
    assert 0 < memory.used_bytes < memory.total_bytes


def test_nvml_errors_mid_run_are_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    def lost(*_: object) -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)

    telemetry = GpuTelemetry(_nvml(nvmlDeviceGetPowerUsage=lost), tmp_path / "none")
    with caplog.at_level(logging.WARNING, logger="orchestrator.service.gpu"):
        readings = [telemetry.read() for _ in range(3)]
    assert [r[0].power_watts for r in readings] == [None, None, None]
    assert [r[0].temperature_c for r in readings] == [71.0, 71.0, 71.0]  # the rest still reads
    assert telemetry.errors == {"power": 3}
    warned = [r.getMessage() for r in caplog.records if "power query failed" in r.getMessage()]
    assert len(warned) == 1 and "GPU is lost" in warned[0]


def test_gpu_readings_become_gauges_with_every_throttle_reason(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(MEMINFO)
    telemetry = GpuTelemetry(_nvml(nvmlDeviceGetPowerUsage=lambda h: 1 / 0), meminfo)
    with pytest.raises(ZeroDivisionError):  # not an NVML error: a bug, never swallowed
        telemetry.read()
    telemetry = GpuTelemetry(_nvml(), meminfo)
    registry = CollectorRegistry()
    metrics = DaemonMetrics(registry, templates=[])
    snapshot = DaemonSnapshot(
        taken_at=0.0,
        health="ok",
        health_ok=True,
        queued=0,
        backends=(),
        images_per_minute=0.0,
        gpus=telemetry.read(),
        gpu_errors={"power": 2},
    )
    metrics.set_snapshot(snapshot)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    assert samples[("dgxp_gpu_utilization_ratio", (("gpu", "0"),))] == 0.87
    assert samples[("dgxp_gpu_memory_used_bytes", (("gpu", "0"), ("source", "meminfo")))] > 0
    assert samples[("dgxp_gpu_power_watts", (("gpu", "0"),))] == 95.5
    assert samples[("dgxp_gpu_info", (("gpu", "0"), ("name", "NVIDIA GB10")))] == 1
    throttles = {
        labels[1][1]: v
        for (name, labels), v in samples.items()
        if name == "dgxp_gpu_throttle_active"
    }
    assert set(throttles) == set(THROTTLE_REASONS)
    assert {r for r, v in throttles.items() if v} == {"sw_thermal_slowdown", "sw_power_cap"}
    assert samples[("dgxp_gpu_telemetry_errors_total", (("query", "power"),))] == 2
