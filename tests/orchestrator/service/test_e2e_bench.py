"""bench/e2e.py run as a real process on the tiny demo model: the JSON's shape, and its
stages add up to each job's end-to-end time (no timing thresholds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

_SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "e2e.py"


def _run_bench(tmp_path: Path, *modes: str) -> dict[str, Any]:
    out = tmp_path / "e2e.json"
    command = [sys.executable, str(_SCRIPT), "--tiny", "--jobs", "1", "--size", "64"]
    command += ["--models", str(tmp_path / "models"), "--out", str(out), "--modes", *modes]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def _check_run(run: dict[str, Any], stages: list[str]) -> None:
    assert run["batch"] == 1 and run["jobs"] == 1 and len(run["per_job"]) == 1
    assert list(run["stages_median_s"]) == stages
    (job,) = run["per_job"]
    assert all(job[stage] >= 0 for stage in stages), job
    # Contiguous stages: they cover the job's wall time (each rounded to 0.1 ms).
    assert sum(job[stage] for stage in stages) == pytest.approx(job["e2e_s"], abs=0.005)
    assert job["unet_loop"] > 0 and job["pixelize"] > 0 and job["png_encode_write"] > 0
    together = run["back_to_back"]
    assert together["jobs"] == 1 and together["engine_idle_between_prompts_median_s"] is None
    assert 0 < together["engine_busy_fraction"] <= 1
    ratio = run["e2e_median_s"] / run["engine_prompt_median_s"]
    assert run["e2e_over_engine"] == pytest.approx(ratio, rel=0.01)


def test_tiny_in_process_run_writes_stages_that_add_up(tmp_path: Path) -> None:
    data = _run_bench(tmp_path, "inprocess")

    assert data["benchmark"] == "e2e" and data["device"] == "cpu" and data["size"] == 64
    assert data["sprite_size"] == "4x4"
    (run,) = data["runs"]
    assert run["mode"] == "inprocess"
    _check_run(run, data["stage_order"])


@pytest.mark.slow
def test_tiny_run_of_both_deployments_times_engine_serve_as_its_own_process(
    tmp_path: Path,
) -> None:
    data = _run_bench(tmp_path, "inprocess", "serve")

    assert [run["mode"] for run in data["runs"]] == ["inprocess", "serve"]
    for run in data["runs"]:
        _check_run(run, data["stage_order"])
