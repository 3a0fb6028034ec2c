"""bench/throughput.py on a CPU (tiny model): the engine and plain diffusers in one process,
every engine figure with its ratio to diffusers, and GPU-only sections that say why they
did not run instead of vanishing."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest


def _bench() -> Any:
    script = Path(__file__).resolve().parents[3] / "bench" / "throughput.py"
    spec = importlib.util.spec_from_file_location("bench_throughput", script)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    return bench


def test_tiny_run_times_engine_and_diffusers_side_by_side(tmp_path: Path) -> None:
    out, copies = tmp_path / "t.json", tmp_path / "copies"
    args = ["--tiny", "--steps", "1", "--batch", "2", "--device", "cpu", "--out", str(out)]
    args += ["--sections", "eager", "fp8", "compiled", "--copy-to", str(copies)]
    _bench().main(args)
    data = json.loads(out.read_text())
    assert json.loads((copies / "t.json").read_text()) == data
    assert (data["steps"], data["resolution"], data["batch"]) == (1, 64, 2)
    assert data["device"].startswith("cpu") and data["torch"] and data["diffusers"]
    for batch, images in (("batch_1", 1), ("batch_2", 2)):
        row = data["sections"]["eager"][batch]
        for side in ("diffusers", "engine_plain", "engine"):
            assert row[side]["images"] == images and row[side]["unet_step_ms"] > 0
        expected = row["engine"]["seconds_per_image"] / row["diffusers"]["seconds_per_image"]
        assert row["engine_over_diffusers"] == pytest.approx(expected, abs=1e-3)
    assert "needs a CUDA GPU" in data["sections"]["fp8"]["refused"]
    assert "CUDA only" in data["sections"]["compiled"]["skipped"]
    assert "levers" not in data["sections"]  # only the sections asked for


def test_a_section_past_the_budget_is_skipped_and_says_so(tmp_path: Path) -> None:
    bench = _bench()
    args = bench.parse_args(["--tiny", "--device", "cpu", "--budget-s", "0", "--steps", "1"])
    run = bench.Bench(args)
    run.args.tiny = False  # budgets apply at full size only; the estimate is what is tested
    run.out = tmp_path / "b.json"
    run.run_section("compiled", run.compiled)
    record = json.loads(run.out.read_text())["sections"]["compiled"]
    assert record["skipped"].startswith("time budget:") and "needs ~200 s" in record["skipped"]


def test_psnr_and_sprite_agreement_measure_the_difference() -> None:
    import torch

    bench = _bench()
    gen = torch.Generator().manual_seed(5)
    image = torch.rand(64, 64, 3, generator=gen)
    assert bench.psnr(image, image) == float("inf")
    noisy = (image + 0.05 * torch.randn(64, 64, 3, generator=gen)).clamp(0, 1)
    assert 20 < bench.psnr(image, noisy) < 35
    assert bench.sprite_agreement(image, image, cells=16)["equal_pixels"] == 1.0
    assert bench.sprite_agreement(image, 1 - image, cells=16)["equal_pixels"] < 0.5
