"""GPU telemetry through NVML (nvidia-ml-py), with a unified-memory fallback.

`GpuTelemetry.read()` returns one `GpuReading` per GPU: utilization, memory used/total,
power, temperature, SM clock and the active throttle reasons. It never raises:

- No NVML library, no driver or no GPU: it reads nothing and logs why, once.
- A query NVML does not support (a GB10's unified memory has no framebuffer figures) is
  `None`; memory then comes from `torch.cuda.mem_get_info` (only when torch is already
  imported: telemetry never loads it) or `/proc/meminfo`, and says which (`source`).
- Any other NVML error mid-run is counted per query (`errors`) and logged once per query.

`nvml` is the pynvml module, injectable so tests can drive the fallback paths; the real
one raises `NVMLError_LibraryNotFound` on a machine without a driver.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from orchestrator.service.metrics import NVML_QUERIES, THROTTLE_REASONS

__all__ = ["GpuMemory", "GpuReading", "GpuTelemetry", "meminfo_memory"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# NVML clock-event bit (constant name in pynvml) -> our label value (metrics.THROTTLE_REASONS).
_THROTTLE_BITS: Mapping[str, str] = {
    f"nvmlClocksThrottleReason{''.join(p.title() for p in reason.split('_'))}": reason
    for reason in THROTTLE_REASONS
}


@dataclass(frozen=True)
class GpuMemory:
    """Memory figures and where they came from (`nvml`, `torch` or `meminfo`)."""

    used_bytes: int
    total_bytes: int
    source: str


@dataclass(frozen=True)
class GpuReading:
    """One GPU at one moment; a figure NVML cannot give is None."""

    index: int
    name: str
    utilization: float | None = None  # 0..1
    memory: GpuMemory | None = None
    power_watts: float | None = None
    temperature_c: float | None = None
    sm_clock_hz: float | None = None
    throttle_reasons: frozenset[str] | None = None


def meminfo_memory(path: Path = Path("/proc/meminfo")) -> GpuMemory | None:
    """System memory as GPU memory (a unified-memory GPU shares it), or None if unreadable."""
    try:
        fields = dict(
            line.split(":", 1)
            for line in path.read_text(encoding="ascii").splitlines()
            if ":" in line
        )
        total = int(fields["MemTotal"].split()[0]) * 1024
        available = int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError, IndexError):
        return None
    return GpuMemory(total - available, total, "meminfo")


def _torch_memory(index: int) -> GpuMemory | None:
    torch = sys.modules.get("torch")  # never import it here: it costs seconds and memory
    if torch is None:
        return None
    try:
        if not torch.cuda.is_available():
            return None
        free, total = torch.cuda.mem_get_info(index)
    except Exception:  # any torch/CUDA failure means: this source has no figure
        return None
    return GpuMemory(int(total - free), int(total), "torch")


def _load_nvml() -> ModuleType | None:
    try:
        import pynvml
    except ImportError:
        return None
    module: ModuleType = pynvml
    return module


class GpuTelemetry:
    """Reads every GPU through NVML; see the module docstring for what it never does.

    Args:
        nvml: The pynvml module (default: import it; missing: no GPU telemetry).
        meminfo: Where system memory is read for the unified-memory fallback.
    """

    def __init__(self, nvml: Any = None, meminfo: Path = Path("/proc/meminfo")) -> None:
        self._nvml = nvml if nvml is not None else _load_nvml()
        self._meminfo = meminfo
        self._lock = threading.Lock()
        self._started: bool | None = None  # None: not tried yet; False: no GPU telemetry
        self._handles: list[Any] = []
        self._errors: dict[str, int] = {}
        self.why_none: str | None = None

    @property
    def errors(self) -> dict[str, int]:
        """Failed NVML queries since start, per query name (`metrics.NVML_QUERIES`)."""
        with self._lock:
            return dict(self._errors)

    def read(self) -> tuple[GpuReading, ...]:
        """Every GPU now; empty when there is no GPU telemetry (logged once)."""
        with self._lock:
            if self._started is None:
                self._started = self._start()
            if not self._started:
                return ()
            return tuple(self._read_one(i, h) for i, h in enumerate(self._handles))

    def close(self) -> None:
        """Release NVML (idempotent)."""
        with self._lock:
            if self._started and self._nvml is not None:
                try:
                    self._nvml.nvmlShutdown()
                except Exception:  # shutting down: nothing left to do about it
                    logger.debug("nvmlShutdown failed", exc_info=True)
            self._started = False

    def _start(self) -> bool:
        nvml = self._nvml
        if nvml is None:
            return self._none("nvidia-ml-py is not installed (pip install 'dgx-pixels[daemon]')")
        try:
            nvml.nvmlInit()
            count = int(nvml.nvmlDeviceGetCount())
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception as exc:  # NVMLError_LibraryNotFound / DriverNotLoaded / …: no GPU
            return self._none(f"NVML is not available ({exc})")
        if not self._handles:
            return self._none("NVML sees no GPU")
        logger.info("GPU telemetry: %d GPU(s) through NVML", len(self._handles))
        return True

    def _none(self, why: str) -> bool:
        self.why_none = why
        logger.info("no GPU telemetry: %s; GPU metrics are not reported", why)
        return False

    def _read_one(self, index: int, handle: Any) -> GpuReading:
        nvml = self._nvml
        assert nvml is not None  # started
        name = self._query("name", lambda: nvml.nvmlDeviceGetName(handle))
        util = self._query("utilization", lambda: nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        power = self._query("power", lambda: nvml.nvmlDeviceGetPowerUsage(handle))
        temp = self._query(
            "temperature", lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
        )
        clock = self._query(
            "sm_clock", lambda: nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM)
        )
        bits = self._query(
            "throttle_reasons", lambda: nvml.nvmlDeviceGetCurrentClocksThrottleReasons(handle)
        )
        return GpuReading(
            index=index,
            name=name.decode() if isinstance(name, bytes) else str(name or f"GPU {index}"),
            utilization=None if util is None else float(util) / 100.0,
            memory=self._memory(index, handle),
            power_watts=None if power is None else float(power) / 1000.0,  # NVML: milliwatts
            temperature_c=None if temp is None else float(temp),
            sm_clock_hz=None if clock is None else float(clock) * 1e6,  # NVML: MHz
            throttle_reasons=None if bits is None else self._reasons(int(bits)),
        )

    def _memory(self, index: int, handle: Any) -> GpuMemory | None:
        nvml = self._nvml
        assert nvml is not None
        info = self._query("memory", lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        if info is not None:
            return GpuMemory(int(info.used), int(info.total), "nvml")
        return _torch_memory(index) or meminfo_memory(self._meminfo)

    def _reasons(self, bits: int) -> frozenset[str]:
        nvml = self._nvml
        return frozenset(
            reason
            for const, reason in _THROTTLE_BITS.items()
            if bits & int(getattr(nvml, const, 0))
        )

    def _query(self, query: str, call: Callable[[], T]) -> T | None:
        """One NVML call: None when unsupported; other errors counted and logged once."""
        assert query in NVML_QUERIES
        nvml = self._nvml
        assert nvml is not None
        try:
            return call()
        except nvml.NVMLError as exc:
            if isinstance(exc, nvml.NVMLError_NotSupported):
                return None  # e.g. memory on a GB10: the fallback answers instead
            self._errors[query] = self._errors.get(query, 0) + 1
            if self._errors[query] == 1:
                logger.warning("GPU telemetry: NVML %s query failed: %s (counted)", query, exc)
            return None
