"""Every Prometheus metric family the daemon exports, defined once (`FAMILIES`).

Names carry the `dgxp_` prefix and their unit; labels take only bounded values: template
names from the template library (anything else is `other`; a LoRA training job is
`train_lora`, `TRAIN_TEMPLATE`, whatever the library holds), final job states
(`FINAL_STATES`), job phases (`Phase`), backend URLs of the pool, GPU indexes, memory
sources (`MEMORY_SOURCES`), throttle reasons (`THROTTLE_REASONS`) and NVML query names
(`NVML_QUERIES`). Never a prompt, never a job id.

`DaemonMetrics` owns the live families on a per-process `CollectorRegistry` handed down
by the composition root. Counters and histograms are fed by job events and the backend
pool; gauges (queue, in-flight, backend up, health, disk, GPUs) are read at scrape time
from the latest `DaemonSnapshot`, so a scrape never touches the job store::

    registry = CollectorRegistry()
    metrics = DaemonMetrics(registry, templates=["single_sprite"])
    metrics.observe_event(event)              # a JobEvent from the service's hub
    metrics.set_snapshot(snapshot)            # the sampler's latest figures
    generate_latest(registry)                 # what /metrics serves

`docs/metrics.md` lists the same families for people (a test keeps the two equal).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from orchestrator.jobs.kinds import JobKind
from orchestrator.jobs.states import TERMINAL_STATES, JobState
from orchestrator.service.job_events import JobEventKind
from orchestrator.service.train_jobs import TRAIN_TEMPLATE

if TYPE_CHECKING:  # prometheus_client is the daemon extra's: imported where families are built
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.core import GaugeMetricFamily, Metric

    from orchestrator.jobs.models import Job
    from orchestrator.service.job_events import JobEvent
    from orchestrator.service.snapshot import DaemonSnapshot

__all__ = [
    "FAMILIES",
    "FINAL_STATES",
    "MEMORY_SOURCES",
    "NVML_QUERIES",
    "OTHER_TEMPLATE",
    "THROTTLE_REASONS",
    "TRAINING_FAMILIES",
    "DaemonMetrics",
    "Family",
    "Phase",
]

FamilyKind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class Family:
    """One metric family: its exposed name, type, help text and label names."""

    name: str
    kind: FamilyKind
    help: str
    labels: tuple[str, ...] = ()


class Phase(StrEnum):
    """The phases of a job whose durations are measured."""

    QUEUED = "queued"  # stored -> sent to a backend
    RUNNING = "running"  # sent -> the backend's history says done
    DELIVERING = "delivering"  # history done -> files written and the job succeeded


FINAL_STATES: tuple[str, ...] = tuple(sorted(s.value for s in TERMINAL_STATES))
# The events that announce a final state (the job snapshot they carry says which).
_FINAL_EVENTS = frozenset({JobEventKind.SUCCEEDED, JobEventKind.FAILED, JobEventKind.CANCELLED})
OTHER_TEMPLATE = "other"  # a template the library did not list when the daemon started
MEMORY_SOURCES: tuple[str, ...] = ("nvml", "torch", "meminfo")
# NVML's clock-event (throttle) reasons, as label values; `service.gpu` maps the bits.
THROTTLE_REASONS: tuple[str, ...] = (
    "gpu_idle",
    "applications_clocks_setting",
    "sw_power_cap",
    "hw_slowdown",
    "sync_boost",
    "sw_thermal_slowdown",
    "hw_thermal_slowdown",
    "hw_power_brake_slowdown",
    "display_clock_setting",
)
NVML_QUERIES: tuple[str, ...] = (
    "utilization",
    "memory",
    "power",
    "temperature",
    "sm_clock",
    "throttle_reasons",
    "name",
)

# Seconds: a 4-step demo job on a CPU takes ~1 s; a 30-step SDXL job on a GPU ~5-60 s.
PHASE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800)
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

JOBS_FINISHED = Family(
    "dgxp_jobs_finished_total",
    "counter",
    "Jobs that reached a final state, by template and final state.",
    ("template", "state"),
)
JOBS_SUBMITTED = Family(
    "dgxp_jobs_submitted_total", "counter", "Jobs queued (submitted or retried).", ("template",)
)
JOBS_QUEUED = Family("dgxp_jobs_queued", "gauge", "Jobs waiting in the queue (the job store).")
JOBS_IN_FLIGHT = Family(
    "dgxp_jobs_in_flight", "gauge", "Jobs this daemon has sent to a backend.", ("backend",)
)
PHASE_DURATION = Family(
    "dgxp_job_phase_duration_seconds",
    "histogram",
    "Time a job spent in each phase (queued, running, delivering).",
    ("template", "phase"),
)
IMAGES_GENERATED = Family(
    "dgxp_images_generated_total", "counter", "Sprites written by succeeded jobs.", ("template",)
)
PIXELIZE_DURATION = Family(
    "dgxp_pixelize_duration_seconds",
    "histogram",
    "Time to pixelize one picture in the daemon (pixelize files, ZMQ/MCP pixelize).",
)
BACKEND_UP = Family(
    "dgxp_backend_up", "gauge", "1 if the backend's last health check passed.", ("backend",)
)
BACKEND_JOBS = Family(
    "dgxp_backend_jobs_total",
    "counter",
    "Jobs this daemon ran on the backend, by outcome (done; failed: failed or lost there).",
    ("backend", "outcome"),
)
BACKEND_MEAN_JOB = Family(
    "dgxp_backend_job_mean_seconds",
    "gauge",
    "Mean time from send to done of the jobs done on the backend.",
    ("backend",),
)
BACKEND_CHECK = Family(
    "dgxp_backend_health_check_duration_seconds",
    "histogram",
    "Duration of one backend health check (/system_stats and /queue).",
    ("backend",),
)
DAEMON_HEALTHY = Family(
    "dgxp_daemon_healthy", "gauge", "1 when the daemon's own health is ok, 0 when degraded."
)
DISK_USED = Family("dgxp_data_dir_disk_used_bytes", "gauge", "Bytes used on the data dir's disk.")
DISK_TOTAL = Family("dgxp_data_dir_disk_total_bytes", "gauge", "Size of the data dir's disk.")
GPU_INFO = Family("dgxp_gpu_info", "gauge", "1 per GPU seen, with its name.", ("gpu", "name"))
GPU_UTIL = Family(
    "dgxp_gpu_utilization_ratio",
    "gauge",
    "GPU busy fraction over NVML's last sample (0..1).",
    ("gpu",),
)
GPU_MEM_USED = Family(
    "dgxp_gpu_memory_used_bytes",
    "gauge",
    "GPU memory in use; source nvml, or torch/meminfo where NVML cannot tell (GB10).",
    ("gpu", "source"),
)
GPU_MEM_TOTAL = Family(
    "dgxp_gpu_memory_total_bytes",
    "gauge",
    "GPU memory in all; source as for dgxp_gpu_memory_used_bytes.",
    ("gpu", "source"),
)
GPU_POWER = Family("dgxp_gpu_power_watts", "gauge", "GPU power draw.", ("gpu",))
GPU_TEMP = Family("dgxp_gpu_temperature_celsius", "gauge", "GPU core temperature.", ("gpu",))
GPU_SM_CLOCK = Family("dgxp_gpu_sm_clock_hertz", "gauge", "GPU SM clock.", ("gpu",))
GPU_THROTTLE = Family(
    "dgxp_gpu_throttle_active",
    "gauge",
    "1 while NVML reports this clock-throttle reason for the GPU.",
    ("gpu", "reason"),
)
GPU_ERRORS = Family(
    "dgxp_gpu_telemetry_errors_total",
    "counter",
    "NVML queries that failed after telemetry started (each kind logged once).",
    ("query",),
)

FAMILIES: tuple[Family, ...] = (
    JOBS_FINISHED,
    JOBS_SUBMITTED,
    JOBS_QUEUED,
    JOBS_IN_FLIGHT,
    PHASE_DURATION,
    IMAGES_GENERATED,
    PIXELIZE_DURATION,
    BACKEND_UP,
    BACKEND_JOBS,
    BACKEND_MEAN_JOB,
    BACKEND_CHECK,
    DAEMON_HEALTHY,
    DISK_USED,
    DISK_TOTAL,
    GPU_INFO,
    GPU_UTIL,
    GPU_MEM_USED,
    GPU_MEM_TOTAL,
    GPU_POWER,
    GPU_TEMP,
    GPU_SM_CLOCK,
    GPU_THROTTLE,
    GPU_ERRORS,
)


# Training runs nowhere in the service yet, so nothing registers these; their names are
# fixed here so the Grafana "Training" dashboard and the training alerts
# (docker/prometheus/alerts.yml) can name them today and light up once training feeds them.
TRAINING_FAMILIES: tuple[Family, ...] = (
    Family("dgxp_train_loss", "gauge", "Training loss of the latest step.", ("run",)),
    Family("dgxp_train_validation_loss", "gauge", "Loss on the validation set.", ("run",)),
    Family("dgxp_train_step_duration_seconds", "histogram", "Wall time of one step.", ("run",)),
    Family("dgxp_train_eta_seconds", "gauge", "Estimated time left in the run.", ("run",)),
)


def _counter(family: Family, registry: CollectorRegistry) -> Counter:
    from prometheus_client import Counter

    return Counter(family.name, family.help, family.labels, registry=registry)


def _histogram(
    family: Family, registry: CollectorRegistry, buckets: tuple[float, ...]
) -> Histogram:
    from prometheus_client import Histogram

    return Histogram(family.name, family.help, family.labels, registry=registry, buckets=buckets)


def _gauge(family: Family) -> GaugeMetricFamily:
    from prometheus_client.core import GaugeMetricFamily

    return GaugeMetricFamily(family.name, family.help, labels=family.labels)


class DaemonMetrics:
    """The daemon's live metric families on one registry.

    Args:
        registry: This process's registry (the composition root makes it).
        templates: Template names that may appear as a `template` label value.
    """

    def __init__(self, registry: CollectorRegistry, templates: Iterable[str]) -> None:
        self.registry = registry
        self._templates = frozenset(templates)
        self.jobs_finished = _counter(JOBS_FINISHED, registry)
        self.jobs_submitted = _counter(JOBS_SUBMITTED, registry)
        self.phase_duration = _histogram(PHASE_DURATION, registry, PHASE_BUCKETS)
        self.images_generated = _counter(IMAGES_GENERATED, registry)
        self.pixelize_duration = _histogram(PIXELIZE_DURATION, registry, FAST_BUCKETS)
        self.backend_check = _histogram(BACKEND_CHECK, registry, FAST_BUCKETS)
        self._snapshot_collector = _SnapshotCollector()
        registry.register(self._snapshot_collector)
        self._delivering: dict[str, float] = {}  # job id -> seconds, until its final event
        self._lock = threading.Lock()

    def template_label(self, name: str) -> str:
        """`name` when the library listed it, else `other` (keeps the label bounded)."""
        return name if name in self._templates else OTHER_TEMPLATE

    def job_label(self, job: Job) -> str:
        """A job's `template` label: `train_lora` for a training run (no template of the
        library), else `template_label` of its template."""
        if job.kind is JobKind.TRAIN:
            return TRAIN_TEMPLATE
        return self.template_label(job.template)

    # --- fed by the service -----------------------------------------------------------------
    def observe_event(self, event: JobEvent) -> None:
        """Count a job event (a `EventHub` subscriber: quick, never raises on a bad job)."""
        job = event.job
        if job is None:
            return
        template = self.job_label(job)
        if event.kind is JobEventKind.QUEUED:
            self.jobs_submitted.labels(template).inc()
        elif event.kind in _FINAL_EVENTS and job.state.is_terminal:
            self.jobs_finished.labels(template, job.state.value).inc()
            self._observe_phases(job, template)
            if job.state is JobState.SUCCEEDED:
                self.images_generated.labels(template).inc(len(job.outputs))

    def observe_delivery(self, job: Job, seconds: float) -> None:
        """The runner wrote a succeeded job's files in `seconds` (before its final event)."""
        with self._lock:
            self._delivering[job.id] = seconds

    def observe_pixelize(self, seconds: float) -> None:
        """One picture was pixelized in this process."""
        self.pixelize_duration.observe(seconds)

    def observe_health_check(self, backend: str, seconds: float) -> None:
        """One health check of `backend` (a pool URL) took `seconds`."""
        self.backend_check.labels(backend).observe(seconds)

    def set_snapshot(self, snapshot: DaemonSnapshot) -> None:
        """The figures gauges report from now on (the sampler calls this)."""
        self._snapshot_collector.snapshot = snapshot

    def _observe_phases(self, job: Job, template: str) -> None:
        with self._lock:
            delivering = self._delivering.pop(job.id, None)
        if job.submitted_at is not None:
            self.phase_duration.labels(template, Phase.QUEUED).observe(
                max(0.0, job.submitted_at - job.created_at)
            )
        begun = job.started_at or job.submitted_at
        if begun is None or job.finished_at is None:
            return
        running = max(0.0, job.finished_at - begun - (delivering or 0.0))
        self.phase_duration.labels(template, Phase.RUNNING).observe(running)
        if delivering is not None:
            self.phase_duration.labels(template, Phase.DELIVERING).observe(delivering)


class _SnapshotCollector:
    """Gauges read from the latest `DaemonSnapshot` (nothing before the first one)."""

    def __init__(self) -> None:
        self.snapshot: DaemonSnapshot | None = None  # replaced whole: reads need no lock

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot
        if snapshot is None:
            return
        yield from _service_families(snapshot)
        yield from _gpu_families(snapshot)


def _service_families(snapshot: DaemonSnapshot) -> Iterator[Metric]:
    queued = _gauge(JOBS_QUEUED)
    queued.add_metric([], snapshot.queued)
    in_flight, up = _gauge(JOBS_IN_FLIGHT), _gauge(BACKEND_UP)
    for backend in snapshot.backends:
        in_flight.add_metric([backend.url], backend.in_flight)
        up.add_metric([backend.url], 1.0 if backend.healthy else 0.0)
    healthy = _gauge(DAEMON_HEALTHY)
    healthy.add_metric([], 1.0 if snapshot.health_ok else 0.0)
    yield from (queued, in_flight, up, healthy)
    yield from _backend_job_families(snapshot)
    if snapshot.disk is not None:
        used, total = _gauge(DISK_USED), _gauge(DISK_TOTAL)
        used.add_metric([], snapshot.disk.used_bytes)
        total.add_metric([], snapshot.disk.total_bytes)
        yield from (used, total)


def _backend_job_families(snapshot: DaemonSnapshot) -> Iterator[Metric]:
    from prometheus_client.core import CounterMetricFamily

    jobs = CounterMetricFamily(BACKEND_JOBS.name, BACKEND_JOBS.help, labels=BACKEND_JOBS.labels)
    mean = _gauge(BACKEND_MEAN_JOB)
    for backend in snapshot.backends:
        jobs.add_metric([backend.url, "done"], backend.done)
        jobs.add_metric([backend.url, "failed"], backend.failed)
        if backend.mean_job_s is not None:
            mean.add_metric([backend.url], backend.mean_job_s)
    yield from (jobs, mean)


def _gpu_families(snapshot: DaemonSnapshot) -> Iterator[Metric]:
    info, util, power, temp, clock = map(
        _gauge, (GPU_INFO, GPU_UTIL, GPU_POWER, GPU_TEMP, GPU_SM_CLOCK)
    )
    used, total, throttle = _gauge(GPU_MEM_USED), _gauge(GPU_MEM_TOTAL), _gauge(GPU_THROTTLE)
    for gpu in snapshot.gpus:
        index = str(gpu.index)
        info.add_metric([index, gpu.name], 1.0)
        for family, value in (
            (util, gpu.utilization),
            (power, gpu.power_watts),
            (temp, gpu.temperature_c),
            (clock, gpu.sm_clock_hz),
        ):
            if value is not None:
                family.add_metric([index], value)
        if gpu.memory is not None:
            used.add_metric([index, gpu.memory.source], gpu.memory.used_bytes)
            total.add_metric([index, gpu.memory.source], gpu.memory.total_bytes)
        if gpu.throttle_reasons is not None:  # every reason, 0 or 1, so alerts see a value
            for reason in THROTTLE_REASONS:
                throttle.add_metric([index, reason], float(reason in gpu.throttle_reasons))
    from prometheus_client.core import CounterMetricFamily

    errors = CounterMetricFamily(GPU_ERRORS.name, GPU_ERRORS.help, labels=GPU_ERRORS.labels)
    for query, count in sorted(snapshot.gpu_errors.items()):
        errors.add_metric([query], count)
    yield from (info, util, used, total, power, temp, clock, throttle, errors)
