"""Every Prometheus metric family `engine serve` exports at `/metrics`, defined once.

Names carry the `dgxp_engine_` prefix and their unit; label values are bounded: a prompt's
outcome (`PROMPT_STATUSES`) and the compiled part (`COMPILED_PARTS`). `EngineMetrics` owns
the families on the engine's own `CollectorRegistry` (made by `engine.runner`, never the
global default) and is the engine's `EngineObserver`: the worker reports each prompt, the
sampler each UNet step, the VAE each decode, the compile wrapper each compile or cache hit::

    metrics = EngineMetrics(CollectorRegistry(), queue_depth=lambda: 0)
    metrics.unet_step(0.12)
    metrics.prompt_done("success", 3.4, peak_vram_bytes=9_000_000_000)

`docs/metrics.md` lists the same families (a test keeps them equal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "COMPILED_PARTS",
    "FAMILIES",
    "PROMPT_STATUSES",
    "EngineMetrics",
    "Family",
    "PromptStatus",
]

PromptStatus = Literal["success", "error", "interrupted"]
PROMPT_STATUSES: tuple[PromptStatus, ...] = ("success", "error", "interrupted")
COMPILED_PARTS: tuple[str, ...] = ("unet", "vae")


@dataclass(frozen=True)
class Family:
    """One metric family: its exposed name, type, help text and label names."""

    name: str
    kind: Literal["counter", "gauge", "histogram"]
    help: str
    labels: tuple[str, ...] = ()


# Seconds: a tiny CPU demo prompt ~0.5 s, a 30-step SDXL prompt on a GPU 3-60 s.
PROMPT_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 900)
STEP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
COMPILE_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1200)

PROMPTS = Family(
    "dgxp_engine_prompts_total", "counter", "Prompts executed, by outcome.", ("status",)
)
PROMPT_DURATION = Family(
    "dgxp_engine_prompt_duration_seconds",
    "histogram",
    "Wall time of one prompt's execution, by outcome.",
    ("status",),
)
UNET_STEP = Family(
    "dgxp_engine_unet_step_duration_seconds",
    "histogram",
    "Sampler step period: time from one denoiser call (the UNet with CFG) to the next.",
)
VAE_DECODE = Family(
    "dgxp_engine_vae_decode_duration_seconds", "histogram", "Wall time of one VAE decode."
)
PEAK_VRAM = Family(
    "dgxp_engine_prompt_peak_vram_bytes",
    "gauge",
    "Peak CUDA memory allocated during the last prompt (absent on a CPU engine).",
)
COMPILE_DURATION = Family(
    "dgxp_engine_compile_duration_seconds",
    "histogram",
    "Wall time of a torch.compile call that compiled a new graph (first call at a shape).",
    ("part",),
)
COMPILE_HITS = Family(
    "dgxp_engine_compile_cache_hits_total",
    "counter",
    "Calls of a compiled part at a shape already compiled (no recompile).",
    ("part",),
)
COMPILE_FALLBACKS = Family(
    "dgxp_engine_compile_fallbacks_total",
    "counter",
    "torch.compile failures of a part; each one runs that part eagerly from then on.",
    ("part",),
)
NODE_DURATION = Family(
    "dgxp_engine_node_duration_seconds",
    "histogram",
    "Wall time of one node's execution (cached nodes are not counted), by node class; "
    "DGXP_PixelizeSprite is a job's pixelize time.",
    ("node",),
)
QUEUE_DEPTH = Family(
    "dgxp_engine_queue_pending_prompts",
    "gauge",
    "Prompts pending or running in the engine's queue (ComfyUI's queue_remaining).",
)

FAMILIES: tuple[Family, ...] = (
    PROMPTS,
    PROMPT_DURATION,
    UNET_STEP,
    VAE_DECODE,
    PEAK_VRAM,
    COMPILE_DURATION,
    COMPILE_HITS,
    COMPILE_FALLBACKS,
    NODE_DURATION,
    QUEUE_DEPTH,
)


class EngineMetrics:
    """The engine's live families; also its `EngineObserver`.

    Args:
        registry: The engine's own registry.
        queue_depth: Reads the number of pending prompts (at scrape time).
    """

    def __init__(self, registry: CollectorRegistry, queue_depth: Callable[[], int]) -> None:
        self.registry = registry
        self._prompts = Counter(PROMPTS.name, PROMPTS.help, PROMPTS.labels, registry=registry)
        self._prompt_duration = Histogram(
            PROMPT_DURATION.name,
            PROMPT_DURATION.help,
            PROMPT_DURATION.labels,
            registry=registry,
            buckets=PROMPT_BUCKETS,
        )
        self._unet_step = Histogram(
            UNET_STEP.name, UNET_STEP.help, registry=registry, buckets=STEP_BUCKETS
        )
        self._vae = Histogram(
            VAE_DECODE.name, VAE_DECODE.help, registry=registry, buckets=STEP_BUCKETS
        )
        self._peak_vram = Gauge(PEAK_VRAM.name, PEAK_VRAM.help, registry=None)
        self._peak_seen = False
        self._compile = Histogram(
            COMPILE_DURATION.name,
            COMPILE_DURATION.help,
            COMPILE_DURATION.labels,
            registry=registry,
            buckets=COMPILE_BUCKETS,
        )
        self._hits = Counter(
            COMPILE_HITS.name, COMPILE_HITS.help, COMPILE_HITS.labels, registry=registry
        )
        self._fallbacks = Counter(
            COMPILE_FALLBACKS.name,
            COMPILE_FALLBACKS.help,
            COMPILE_FALLBACKS.labels,
            registry=registry,
        )
        self._nodes = Histogram(
            NODE_DURATION.name,
            NODE_DURATION.help,
            NODE_DURATION.labels,
            registry=registry,
            buckets=STEP_BUCKETS,
        )
        registry.register(_LiveGauges(self, queue_depth))
        for status in PROMPT_STATUSES:  # every outcome shows 0 before its first prompt
            self._prompts.labels(status)

    # --- EngineObserver ---------------------------------------------------------------------
    def unet_step(self, seconds: float) -> None:
        """One sampler step took `seconds`."""
        self._unet_step.observe(seconds)

    def vae_decode(self, seconds: float) -> None:
        """One VAE decode took `seconds`."""
        self._vae.observe(seconds)

    def compiled(self, part: str, seconds: float) -> None:
        """A compiled `part` (`COMPILED_PARTS`) compiled a new graph in `seconds`."""
        self._compile.labels(part).observe(seconds)

    def compile_cache_hit(self, part: str) -> None:
        """A compiled `part` ran at a shape it had compiled before."""
        self._hits.labels(part).inc()

    def compile_failed(self, part: str) -> None:
        """torch.compile of `part` failed; it runs eagerly from now on."""
        self._fallbacks.labels(part).inc()

    # --- the worker -------------------------------------------------------------------------
    def prompt_done(
        self, status: PromptStatus, seconds: float, peak_vram_bytes: int | None = None
    ) -> None:
        """One prompt finished; `peak_vram_bytes` is None on a CPU engine."""
        self._prompts.labels(status).inc()
        self._prompt_duration.labels(status).observe(seconds)
        if peak_vram_bytes is not None:
            self._peak_vram.set(peak_vram_bytes)
            self._peak_seen = True

    def node_done(self, node_class: str, seconds: float) -> None:
        """One node of class `node_class` (a registered class type: bounded) ran."""
        self._nodes.labels(node_class).observe(seconds)

    def _peak_family(self) -> Iterator[Metric]:
        if self._peak_seen:
            yield from self._peak_vram.collect()


class _LiveGauges(Collector):
    """Gauges read at scrape time: the queue, and peak VRAM once a GPU prompt ran."""

    def __init__(self, metrics: EngineMetrics, queue_depth: Callable[[], int]) -> None:
        self._metrics = metrics
        self._queue_depth = queue_depth

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(QUEUE_DEPTH.name, QUEUE_DEPTH.help)
        depth.add_metric([], self._queue_depth())
        yield depth
        yield from self._metrics._peak_family()
