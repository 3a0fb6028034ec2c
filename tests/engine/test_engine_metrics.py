"""`/metrics` on the engine's own port: prompt, step, VAE and queue figures after real
prompts, scraped over HTTP and parsed; the compile observer counts compiles and hits."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import requests
from engine_client import TIMEOUT_S, WsClient, run_graph, solid_save_graph
from fixtures.sdxl_graphs import txt2img_graph
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from engine.context import EngineContext, EnginePaths, bind_engine_context
from engine.models.compile import compile_observed
from engine.server.metrics import EngineMetrics

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _scrape(base_url: str, path: str = "/metrics") -> Samples:
    reply = requests.get(base_url + path, timeout=TIMEOUT_S)
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"].startswith("text/plain")
    return _parse(reply.text)


def test_a_fresh_engine_shows_every_outcome_at_zero_and_an_empty_queue(ws: WsClient) -> None:
    samples = _scrape(ws.base_url)
    for status in ("success", "error", "interrupted"):
        key = ("dgxp_engine_prompts_total", frozenset({("status", status)}))
        assert samples[key] == 0
    assert samples[("dgxp_engine_queue_pending_prompts", frozenset())] == 0


def test_a_sdxl_prompt_counts_its_steps_decode_and_duration(ws: WsClient) -> None:
    graph = txt2img_graph(ckpt="tiny_sdxl.safetensors", prompt="a red potion", prefix="m/a")
    _, _, entry = run_graph(ws, graph)
    assert entry["status"]["status_str"] == "success"

    samples = _scrape(ws.base_url, "/api/metrics")  # ComfyUI's /api twin works too

    ok = frozenset({("status", "success")})
    assert samples[("dgxp_engine_prompts_total", ok)] == 1
    assert samples[("dgxp_engine_prompt_duration_seconds_count", ok)] == 1
    assert samples[("dgxp_engine_vae_decode_duration_seconds_count", frozenset())] == 1
    steps = graph["3"]["inputs"]["steps"]
    # The step period is measured between denoiser calls: steps - 1 intervals per prompt.
    assert samples[("dgxp_engine_unet_step_duration_seconds_count", frozenset())] == steps - 1
    assert not any(name == "dgxp_engine_prompt_peak_vram_bytes" for name, _ in samples)  # CPU
    nodes = {
        dict(labels)["node"]: value
        for (name, labels), value in samples.items()
        if name == "dgxp_engine_node_duration_seconds_count"
    }
    assert nodes == Counter(node["class_type"] for node in graph.values())  # each ran once


def test_a_failed_prompt_counts_as_error(ws: WsClient) -> None:
    graph = solid_save_graph(prefix="m/b")
    graph["2"] = {"class_type": "DGXPTest_Fail", "inputs": {"image": ["1", 0], "message": "x"}}
    _, _, entry = run_graph(ws, graph)
    assert entry["status"]["status_str"] == "error"
    samples = _scrape(ws.base_url)
    assert samples[("dgxp_engine_prompts_total", frozenset({("status", "error")}))] == 1
    assert samples[("dgxp_engine_prompts_total", frozenset({("status", "success")}))] == 0


def test_compile_observer_times_a_compile_and_counts_a_cache_hit(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    metrics = EngineMetrics(registry, queue_depth=lambda: 0)
    base = tmp_path
    paths = EnginePaths(base / "m", base / "i", base / "o", base / "t")
    with bind_engine_context(EngineContext(paths=paths, observer=metrics)):
        with compile_observed(True, "unet"):
            pass
        with compile_observed(False, "unet"), compile_observed(None, "vae"):
            pass
    samples = _parse(generate_latest(registry).decode())
    unet = frozenset({("part", "unet")})
    assert samples[("dgxp_engine_compile_duration_seconds_count", unet)] == 1
    assert samples[("dgxp_engine_compile_cache_hits_total", unet)] == 1
    assert ("dgxp_engine_compile_cache_hits_total", frozenset({("part", "vae")})) not in samples
