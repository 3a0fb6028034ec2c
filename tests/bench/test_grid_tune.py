"""bench/grid_tune.py: the grid-only tuning tool refuses the held-out seeds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from grid_tune import HELD_OUT, parse_seeds, run
from pixel_quality import HELD_OUT_SEEDS

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_the_held_out_seeds_are_the_quality_benchmarks() -> None:
    assert set(HELD_OUT_SEEDS.values()) == HELD_OUT


def test_seed_ranges_and_lists_are_read() -> None:
    assert parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    assert parse_seeds(" 5 ") == [5]


@pytest.mark.parametrize("text", ["910011", "910000-910020", "1,910012"])
def test_a_held_out_seed_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="held-out seeds"):
        parse_seeds(text)


@pytest.mark.parametrize("text", ["", "a", "1-b", "-3", "1--2"])
def test_malformed_seeds_name_the_part(text: str) -> None:
    with pytest.raises(ValueError, match="--seeds"):
        parse_seeds(text)


def test_the_command_line_refuses_a_held_out_seed() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "grid_tune.py"), "--seeds", "910012"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "held-out" in proc.stderr


def test_a_small_tuning_run_counts_every_picture() -> None:
    exact, total = run("synthetic", [0], 3)
    assert total == 3 and 0 <= exact <= total
