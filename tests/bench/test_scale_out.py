"""bench/scale_out.py's choices: which N it runs, which `--gpus` each N gets, how it scores.

The whole benchmark (two CPU engine groups fed by the daemon, ~4 min on 2 cores) is not run
here; tests/orchestrator/service/test_engine_group.py runs a real group behind the pool.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from scale_out import _engine_counts, _score, _spec, parse_args


@pytest.mark.parametrize(
    ("argv", "gpus", "counts"),
    [
        ([], 8, [1, 2, 4, 8]),
        ([], 6, [1, 2, 4, 6]),
        ([], 1, [1]),
        (["--same-gpu"], 1, [1, 2]),
        (["--engines", "4", "1", "1"], 8, [1, 4]),
    ],
)
def test_engine_counts_double_up_to_the_gpus(argv: list[str], gpus: int, counts: list[int]) -> None:
    assert _engine_counts(parse_args(argv), gpus) == counts


def test_each_n_gets_one_gpu_per_engine_or_shares_gpu_0_or_runs_on_cpus() -> None:
    assert _spec(3, "cuda", same_gpu=False) == "0,1,2"
    assert _spec(2, "cuda", same_gpu=True) == "0,0"
    assert _spec(2, "cpu", same_gpu=False) == "cpu:2"


def test_efficiency_compares_n_engines_with_n_times_one() -> None:
    runs: list[dict[str, Any]] = [
        {"engines": 1, "img_per_min": 40.0},
        {"engines": 2, "img_per_min": 76.0},
        {"engines": 4, "img_per_min": 160.0},
    ]
    _score(runs, 40.0)
    assert [r["efficiency"] for r in runs] == [1.0, 0.95, 1.0]
    assert [r["speedup"] for r in runs] == [1.0, 1.9, 4.0]
