"""A real `dgx-pixels serve` process for CLI tests (importable: test folders are not packages).

`daemon_env` is the environment of a daemon on its own data dir with private ipc:// ZMQ
sockets; `running_daemon` starts `serve` with extra arguments, yields it with the lines it
printed up to "daemon up", and stops it with SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["CLI", "daemon_env", "running_daemon"]

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from orchestrator.adapters.cli.app import main; main()"]


def daemon_env(data_dir: Path) -> dict[str, str]:
    """The environment of a daemon (and its clients) on `data_dir`."""
    return {
        **os.environ,
        "COLUMNS": "40",
        "PYTHONPATH": str(ROOT),
        "DGXP_DATA_DIR": str(data_dir),
        "DGXP_ZMQ_ROUTER": f"ipc://{data_dir}/zmq/router",
        "DGXP_ZMQ_PUB": f"ipc://{data_dir}/zmq/pub",
        "DGXP_HEALTH_INTERVAL_S": "0.5",
    }


@contextmanager
def running_daemon(data_dir: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`dgx-pixels serve --workers 1 ARGS`, up; stopped (SIGTERM) when the block ends."""
    argv = [*CLI, "serve", "--workers", "1", *args]
    with subprocess.Popen(
        argv, env=daemon_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as daemon:
        assert daemon.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 90
        try:
            while not lines or "daemon up" not in lines[-1]:
                assert time.monotonic() < deadline and daemon.poll() is None, "".join(lines)
                lines.append(daemon.stdout.readline())
            yield daemon, lines
        finally:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(30)
