"""The TUI's status panel: GPU utilization, VRAM and img/min from the daemon's figures.

The figures come with every `snapshot` and `ping` reply (`WireStatus`, docs/zmq-protocol.md);
the app polls `ping` every few seconds while connected. One line, e.g.::

    GPU0 87% VRAM 41.2/79.6 GiB · 3.40 img/min · queue 2
"""

from __future__ import annotations

from textual.widgets import Static

from orchestrator.wire.zmq_protocol import WireGpu, WireStatus

__all__ = ["FiguresPanel", "figures_line"]

GIB = 2**30


def _gpu_part(gpu: WireGpu) -> str:
    util = "?" if gpu.utilization is None else f"{gpu.utilization * 100:.0f}%"
    used, total = gpu.memory_used_bytes, gpu.memory_total_bytes
    vram = "?" if used is None or total is None else f"{used / GIB:.1f}/{total / GIB:.1f} GiB"
    return f"GPU{gpu.index} {util} VRAM {vram}"


def figures_line(status: WireStatus | None) -> str:
    """The panel's text for the daemon's latest figures (None: the daemon sends none)."""
    if status is None:
        return "figures: not reported by this daemon"
    gpus = " · ".join(_gpu_part(g) for g in status.gpus) or "GPU: none"
    return f"{gpus} · {status.images_per_minute:.2f} img/min · queue {status.queued}"


class FiguresPanel(Static):
    """One line of the daemon's figures, updated in place."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("figures: waiting for the daemon", markup=False, id=id)
        self.status: WireStatus | None = None

    def show(self, status: WireStatus | None) -> None:
        """Show these figures (keeps them for tests and the next refresh)."""
        self.status = status
        self.update(figures_line(status), layout=False)
