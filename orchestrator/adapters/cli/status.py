"""`dgx-pixels status`: the running daemon's health, backends, queue, img/min and GPUs.

It asks the daemon (`dgx-pixels serve`) over its ZeroMQ socket (`zmq_router`) with one
`ping`, whose reply carries the daemon's health and its latest figures (`WireStatus`, see
docs/zmq-protocol.md); nothing is probed for it. Tables go to stdout (never cut at the
terminal's width), `--json` prints one record instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import emit_record, fail
from orchestrator.errors import DGXPixelsError

if TYPE_CHECKING:
    from rich.table import Table

    from orchestrator.wire.zmq_protocol import PongResult, WireGpu, WireStatus

__all__ = ["status_command", "status_record"]


class DaemonUnreachable(DGXPixelsError):
    """No daemon answered the ping."""


def ping_daemon(endpoint: str, timeout_s: float) -> PongResult:
    """One `ping` to the daemon's ROUTER socket.

    Raises:
        DaemonUnreachable: No reply within `timeout_s`, or an error reply.
    """
    import zmq

    from orchestrator.wire.zmq_protocol import (
        OkReply,
        PingRequest,
        PongResult,
        decode_reply,
        encode_message,
    )

    context = zmq.Context()
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)  # an unanswered ping must not keep the CLI alive
    try:
        dealer.connect(endpoint)
        dealer.send_multipart(encode_message(PingRequest()))
        if not dealer.poll(int(timeout_s * 1000)):
            raise DaemonUnreachable(f"no daemon answered at {endpoint} within {timeout_s:g} s")
        reply, _ = decode_reply(dealer.recv_multipart())
    finally:
        dealer.close()
        context.term()
    if not isinstance(reply, OkReply) or not isinstance(reply.result, PongResult):
        raise DaemonUnreachable(f"the daemon at {endpoint} refused the ping: {reply}")
    return reply.result


def status_record(pong: PongResult, endpoint: str) -> dict[str, Any]:
    """What `--json` prints: the daemon's endpoint, epoch, health and figures."""
    return {
        "endpoint": endpoint,
        "epoch": pong.epoch,
        "health": None if pong.health is None else pong.health.model_dump(),
        **({} if pong.status is None else pong.status.model_dump()),
    }


def _size(value: int | None) -> str:
    return "?" if value is None else f"{value / 2**30:.1f} GiB"


def _summary(pong: PongResult, endpoint: str) -> Table:
    from rich.table import Table

    table = Table("daemon", endpoint, show_header=True)
    table.add_row("health", pong.health.text if pong.health else "not reported")
    status = pong.status
    if status is not None:
        table.add_row("queued", str(status.queued))
        table.add_row("img/min (last 5 min)", f"{status.images_per_minute:.2f}")
        used, total = status.disk_used_bytes, status.disk_total_bytes
        table.add_row("data disk", f"{_size(used)} of {_size(total)} used")
    return table


def _backends(status: WireStatus) -> Table:
    from rich.table import Table

    table = Table(
        "backend", "kind", "up", "in flight", "queue", "done", "failed", "mean job", "model",
        "last error",
    )  # fmt: skip
    for b in status.backends:
        up = "yes" if b.healthy else "DOWN"
        where = f"{b.url} ({b.group})" if b.group else b.url
        row = (where, b.kind, up, str(b.in_flight), str(b.queue_remaining), str(b.done))
        mean = _figure(b.mean_job_s, "s", digits=1)
        table.add_row(*row, str(b.failed), mean, b.last_model or "", b.last_error or "")
    return table


def _figure(value: float | None, unit: str, scale: float = 1.0, digits: int = 0) -> str:
    return "?" if value is None else f"{value * scale:.{digits}f} {unit}".rstrip()


def _gpu_row(gpu: WireGpu) -> tuple[str, ...]:
    memory = f"{_size(gpu.memory_used_bytes)} / {_size(gpu.memory_total_bytes)}"
    throttles = gpu.throttle_reasons
    return (
        f"{gpu.index} {gpu.name}",
        _figure(gpu.utilization, "%", 100),
        f"{memory} ({gpu.memory_source or '?'})",
        _figure(gpu.power_watts, "W"),
        _figure(gpu.temperature_c, "°C"),
        _figure(gpu.sm_clock_hz, "MHz", 1e-6),
        "?" if throttles is None else ", ".join(throttles) or "none",
    )


def _gpus(status: WireStatus) -> Table:
    from rich.table import Table

    table = Table("gpu", "util", "memory", "power", "temp", "SM clock", "throttle")
    for gpu in status.gpus:
        table.add_row(*_gpu_row(gpu))
    return table


def _print_tables(pong: PongResult, endpoint: str) -> None:
    from rich.console import Console

    # Wide enough for any row: a table is never cut or wrapped at the terminal's width.
    console = Console(width=1000, soft_wrap=True)
    console.print(_summary(pong, endpoint))
    status = pong.status
    if status is None:
        console.print("this daemon does not report its figures (an older dgx-pixels)")
        return
    console.print(_backends(status))
    if status.gpus:
        console.print(_gpus(status))
    else:
        console.print(f"GPUs: none reported ({status.gpu_note or 'no GPU telemetry'})")


def status_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record instead.")] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", min=0.1, help="How long to wait for the daemon."
        ),
    ] = 3.0,
) -> None:
    """Show the running daemon's health, backends, queue, img/min over the last 5 minutes
    and GPUs (utilization, memory, power, temperature, SM clock, throttling).

    The daemon (`dgx-pixels serve`) answers over its ZeroMQ socket (zmq_router); without
    one this exits with code 1.

    Example: dgx-pixels status --json
    """
    endpoint = settings_from(ctx).zmq_router
    try:
        pong = ping_daemon(endpoint, timeout)
    except DaemonUnreachable as exc:
        raise fail(f"{exc}; start one with `dgx-pixels serve`") from exc
    if as_json:
        emit_record(status_record(pong, endpoint))
    else:
        _print_tables(pong, endpoint)
