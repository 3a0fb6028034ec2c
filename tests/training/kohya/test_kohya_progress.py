"""Reading sd-scripts' console bar and TensorBoard events into step, loss, lr and speed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from training.kohya.progress import (
    BarLine,
    parse_bar,
    phase_message,
    read_scalars,
    split_console,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "steps:  12%|█▏        | 360/3000 [05:12<38:01,  1.16it/s, avr_loss=0.0912]",
            BarLine(360, 3000, 0.0912, 1.16, 38 * 60 + 1),
        ),
        (
            "steps:  41%|████      | 1230/3000 [1:02:03<2:00:00,  3.2s/it, avr_loss=9.12e-05]",
            BarLine(1230, 3000, 9.12e-05, 1 / 3.2, 7200),
        ),
        ("steps:   0%|          | 0/3000 [00:00<?, ?it/s]", BarLine(0, 3000, None, 0.0, None)),
        (
            "steps: 100%|██████████| 10/10 [00:03<00:00,  3.01it/s, avr_loss=nan]",
            BarLine(10, 10, None, 3.01, 0),
        ),
    ],
)
def test_bar_lines_give_step_loss_speed_and_eta(line: str, expected: BarLine) -> None:
    parsed = parse_bar(line)
    assert parsed is not None
    assert (parsed.done, parsed.total, parsed.eta_s) == (
        expected.done,
        expected.total,
        expected.eta_s,
    )
    assert parsed.loss == (None if expected.loss is None else pytest.approx(expected.loss))
    assert parsed.it_per_s == pytest.approx(expected.it_per_s)


@pytest.mark.parametrize(
    "line",
    [
        "validation steps:  50%|█████     | 2/4 [00:01<00:01,  1.9it/s, val_avg_loss=0.1]",
        "2026-01-01 00:00:00 INFO     caching latents.",
        "epoch 1/10",
        "",
    ],
)
def test_other_lines_are_not_bar_states(line: str) -> None:
    assert parse_bar(line) is None


def test_console_chunks_split_on_carriage_returns_and_keep_the_unfinished_rest() -> None:
    lines, rest = split_console("", "INFO start\nsteps:  0%| | 0/4 [00:00<?, ?it/s]\rsteps: 2")
    assert lines == ["INFO start", "steps:  0%| | 0/4 [00:00<?, ?it/s]"]
    assert rest == "steps: 2"
    lines, rest = split_console(rest, "5%| | 1/4 [00:01<00:03, 1.0it/s, avr_loss=0.5]\r\n")
    assert lines == ["steps: 25%| | 1/4 [00:01<00:03, 1.0it/s, avr_loss=0.5]"] and rest == ""


def test_phase_lines_become_short_messages() -> None:
    assert phase_message("2026-01-01 00:00:00 INFO     caching latents.") == "caching latents."
    rich = "2026-01-01 00:00:00 INFO     caching Text Encoder outputs...   train_util.py:1306"
    assert phase_message(rich) == "caching Text Encoder outputs..."
    assert phase_message("saving checkpoint: /w/output/knight-step00000500.safetensors") is not None
    assert phase_message("epoch 1/10") is None


def _write_events(folder: Path, points: dict[int, tuple[float, float]]) -> None:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(folder))
    for step, (loss, lr) in points.items():
        values = [
            Summary.Value(tag="loss/average", simple_value=loss),
            Summary.Value(tag="lr/unet", simple_value=lr),
        ]
        writer.add_event(Event(wall_time=time.time(), step=step, summary=Summary(value=values)))
    writer.close()


def test_events_of_a_resumed_run_merge_with_the_later_file_winning_a_step(tmp_path: Path) -> None:
    _write_events(tmp_path / "20260101000000" / "network_train", {1: (0.5, 1e-4), 2: (0.4, 1e-4)})
    _write_events(tmp_path / "20260101010000" / "network_train", {2: (0.3, 5e-5), 3: (0.2, 5e-5)})
    scalars = read_scalars(tmp_path)
    assert [s for s, _ in scalars.loss] == [1, 2, 3]
    assert [v for _, v in scalars.loss] == pytest.approx([0.5, 0.3, 0.2])
    assert scalars.lr[-1] == (3, pytest.approx(5e-5))
    assert scalars.val_loss == ()


def test_no_events_yet_gives_empty_series(tmp_path: Path) -> None:
    assert read_scalars(tmp_path / "missing").loss == ()
    assert read_scalars(tmp_path).lr == ()
