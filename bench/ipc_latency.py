"""ZeroMQ request round trip against a real bridge, over tcp:// and ipc://.

A real `ZmqBridge` serves a real `Service` (SQLite store in a temp folder, shipped
templates, an empty backend pool: no engine is needed to answer these requests). A raw
DEALER client sends `[dgxp/1.0, type, msgpack]` and waits for each reply:

* `ping`: answered on the bridge's I/O thread — the protocol's floor.
* `get_job`: a Service call on the bridge's worker pool plus a SQLite read — what a TUI
  refresh costs.
* `floor_bare_pyzmq_echo`: a bare Python ROUTER echo thread with the same frames, i.e.
  what any Python ZeroMQ server costs on this machine at this moment (CPU contention
  shows up here too).

Targets (loopback): p50 <= 200 µs, p99 <= 1 ms for `ping`.

    .venv/bin/python bench/ipc_latency.py            # writes bench/baselines/ipc_latency.json
    .venv/bin/python bench/ipc_latency.py -n 2000 --out /tmp/x.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgpack
import zmq
from baseline import add_note_argument, machine, write_baseline

from orchestrator.adapters.zmq.bridge import BridgeConfig, ZmqBridge
from orchestrator.jobs import JobStore, NewJob
from orchestrator.service import Service
from orchestrator.service.backend_pool import BackendPool
from orchestrator.settings import Settings
from orchestrator.workflows import TemplateLibrary, default_templates_dir

logger = logging.getLogger("bench.ipc_latency")

TARGET_P50_US = 200.0
TARGET_P99_US = 1000.0


def _stats(samples_ns: list[int]) -> dict[str, float]:
    us = sorted(s / 1000 for s in samples_ns)

    def pct(p: float) -> float:
        return round(us[min(len(us) - 1, int(p * len(us)))], 1)

    return {
        "p50_us": pct(0.50),
        "p90_us": pct(0.90),
        "p99_us": pct(0.99),
        "max_us": round(us[-1], 1),
        "mean_us": round(statistics.fmean(us), 1),
    }


def _measure(sock: zmq.Socket[Any], frames: list[bytes], n: int, warmup: int) -> list[int]:
    samples = []
    for i in range(n + warmup):
        start = time.perf_counter_ns()
        sock.send_multipart(frames)
        reply = sock.recv_multipart()
        elapsed = time.perf_counter_ns() - start
        if reply[1] != b"ok":
            raise RuntimeError(f"request failed: {msgpack.unpackb(reply[2])}")
        if i >= warmup:
            samples.append(elapsed)
    return samples


def _echo_floor(endpoint: str, n: int) -> dict[str, float]:
    """A bare pyzmq ROUTER echo thread: what any Python server costs on this machine now."""
    ctx: zmq.Context[Any] = zmq.Context()
    server = ctx.socket(zmq.ROUTER)
    server.bind(endpoint)
    bound = server.getsockopt_string(zmq.LAST_ENDPOINT)
    total = n + n // 10

    def echo() -> None:
        for _ in range(total):
            server.send_multipart(server.recv_multipart())

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    client = ctx.socket(zmq.DEALER)
    client.connect(bound)
    frames = [b"dgxp/1.0", b"ok", msgpack.packb({})]
    samples = _measure(client, frames, n, warmup=n // 10)
    thread.join()
    client.close(linger=0)
    server.close(linger=0)
    ctx.term()
    return _stats(samples)


def run_transport(service: Service, router: str, pub: str, n: int, job_id: str) -> dict[str, Any]:
    """Both request kinds over one transport."""
    with ZmqBridge(service, BridgeConfig(router=router, pub=pub, heartbeat_s=5.0)) as bridge:
        ctx: zmq.Context[Any] = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(bridge.router_endpoint)
        ping = [b"dgxp/1.0", b"ping", msgpack.packb({})]
        get_job = [b"dgxp/1.0", b"get_job", msgpack.packb({"job_id": job_id})]
        result = {
            "endpoint": bridge.router_endpoint,
            "ping": _stats(_measure(sock, ping, n, warmup=n // 10)),
            "get_job": _stats(_measure(sock, get_job, n, warmup=n // 10)),
        }
        sock.close()
        ctx.term()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="Round trips per request kind.")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "baselines" / "ipc_latency.json"
    )
    add_note_argument(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", backends=["http://127.0.0.1:9"])
        store = JobStore(settings.database_path)
        job = store.create([NewJob("single_sprite", {"prompt": "bench"}, 1)])[0]
        service = Service(settings, BackendPool(), store, TemplateLibrary(default_templates_dir()))
        results = {
            "tcp": run_transport(service, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", args.n, job.id),
            "ipc": run_transport(service, f"ipc://{tmp}/req", f"ipc://{tmp}/pub", args.n, job.id),
        }
        results["tcp"]["floor_bare_pyzmq_echo"] = _echo_floor("tcp://127.0.0.1:*", args.n)
        results["ipc"]["floor_bare_pyzmq_echo"] = _echo_floor(f"ipc://{tmp}/echo", args.n)
        store.close()

    meets = all(
        r["ping"]["p50_us"] <= TARGET_P50_US and r["ping"]["p99_us"] <= TARGET_P99_US
        for r in results.values()
    )
    report = {
        "benchmark": "ipc_latency",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "round_trips_per_kind": args.n,
        "targets": {"ping_p50_us": TARGET_P50_US, "ping_p99_us": TARGET_P99_US},
        "meets_target": meets,
        "results": results,
        "machine": machine(load_before, args.note, pyzmq=zmq.__version__, libzmq=zmq.zmq_version()),
    }
    write_baseline(args.out, report)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
