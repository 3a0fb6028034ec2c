"""The job bars' rate column: sampler steps per second from the bar's own samples."""

from __future__ import annotations

from rich.progress import Progress

from orchestrator.adapters.cli.job_progress import StepRateColumn


def test_step_rate_reads_steps_per_second_once_steps_arrive() -> None:
    clock = [0.0]
    bars = Progress(StepRateColumn(), get_time=lambda: clock[0], disable=True)
    task_id = bars.add_task("job", total=10)
    column = StepRateColumn()
    assert str(column.render(bars.tasks[0])) == "- it/s"
    for _ in range(4):  # one step every half second
        clock[0] += 0.5
        bars.advance(task_id)
    assert str(column.render(bars.tasks[0])) == "2.00 it/s"
    assert bars.tasks[0].time_remaining == 3.0  # what the ETA column shows: 6 steps at 2/s
