"""The rich bar `engine serve --warmup` shows while it loads and compiles each shape."""

from __future__ import annotations

from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from orchestrator.adapters.cli.output import stderr_console

__all__ = ["WarmupBar"]


class WarmupBar:
    """A callable `(shapes done, shapes in all, what runs now)` drawing one bar on stderr;
    use as a context manager so a refused warm-up never leaves the bar running."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int, what: str) -> None:
        if self._progress is None:
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            self._progress = Progress(*columns, console=stderr_console(), transient=False)
            self._progress.start()
            self._task = self._progress.add_task("warm-up", total=total)
        assert self._task is not None
        self._progress.update(self._task, completed=done, description=f"warm-up: {what}")
        if done >= total:
            self.close()

    def close(self) -> None:
        """Stop drawing (idempotent)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> WarmupBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
