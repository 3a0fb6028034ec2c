"""bench/throughput.py runs the engine's sampling path and writes its JSON (tiny, on CPU)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path


def test_tiny_throughput_run_writes_the_baseline_shape(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[3] / "bench" / "throughput.py"
    spec = importlib.util.spec_from_file_location("bench_throughput", script)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    out = tmp_path / "t.json"
    bench.main(
        [
            "--tiny",
            "--size",
            "64",
            "--steps",
            "1",
            "--batch",
            "2",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )
    data = json.loads(out.read_text())
    assert data["steps"] == 1 and data["resolution"] == 64 and data["device"].startswith("cpu")
    assert data["batch_1"]["images"] == 1 and data["batch_2"]["images"] == 2
    assert data["batch_1"]["unet_step_ms"] > 0 and data["batch_2"]["images_per_min"] > 0
    assert data["torch"] and data["diffusers"]
