"""The real Prometheus scrapes a real daemon and a real engine (issue 10, Deliver 4).

Three processes on loopback, each on a free port: `dgx-pixels engine serve --cpu`, a
`dgx-pixels serve --metrics-port` daemon whose backend is that engine, and `prometheus`
(Debian's binary) on a config derived from docker/prometheus/prometheus.yml: the same jobs
and alert rules, scraped every second, targets moved to loopback. The demo checkpoint comes
from `dgx-pixels models demo`; `dgx-pixels generate -n 3` hands three jobs to the daemon.
Then Prometheus's HTTP API must read 3 on the job counter, every dashboard query must run
without error, and every alert rule must evaluate cleanly. Every wait is bounded and every
process is stopped, whatever fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from fixtures.ports import free_port
from grafana_queries import dashboard_queries, runnable
from prometheus_tools import PROMETHEUS_DIR, ROOT, require_binary

CLI = [sys.executable, "-c", "from orchestrator.adapters.cli.app import main; main()"]
DEMO_CHECKPOINT = "DEMO-random-weights-sdxl.safetensors"
JOBS = 3
TINY = [
    *("--steps", "1"),
    *("--param", f"checkpoint={DEMO_CHECKPOINT}"),
    *("--param", "width=64", "--param", "height=64"),
]
# Panels that must draw something once three jobs succeeded on a CPU engine (failures,
# GPU, compile and training panels may rightly be empty here).
SHOWN_AFTER_JOBS = {
    "Images per minute",
    "Jobs finished per minute",
    "Generation latency per template (running phase)",
    "Queue",
    "Backends",
}
WAIT_S = 90.0  # a generous bound per wait; a healthy run needs a fraction of it


def _until(ready: Callable[[], Any], why: str | Callable[[], str], log: Path | None = None) -> Any:
    """Poll `ready` until it returns something truthy; fail with `why` (and the log)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            if result := ready():
                return result
        except requests.ConnectionError:
            pass  # not listening yet
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    reason = why if isinstance(why, str) else why()
    pytest.fail(f"{reason} within {WAIT_S:.0f} s\n{tail}", pytrace=False)


@contextmanager
def _process(argv: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`argv` running with its output in `log`; SIGTERM (then SIGKILL) when the block ends."""
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _alive(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        pytest.fail(f"{process.args!r} exited {process.returncode}:\n{log.read_text()}")


def _prometheus_config(tmp: Path, daemon: str, engine: str) -> Path:
    """The repo's config, scraped every second, its targets moved to loopback."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    targets = {"dgxp-daemon": daemon, "dgxp-engine": engine}
    jobs = [job for job in config["scrape_configs"] if job["job_name"] in targets]
    assert len(jobs) == len(targets), "prometheus.yml lost the daemon or the engine job"
    for job in jobs:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    config["scrape_configs"] = jobs  # dcgm-exporter needs a GPU: not here
    config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in config["rule_files"]]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


class PrometheusApi:
    """Prometheus's HTTP API at `url`."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: str) -> Any:
        reply = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = reply.json()
        assert body["status"] == "success", f"{path} {params}: {body}"
        return body["data"]

    def scalar(self, query: str) -> float | None:
        """The single value of `query`, or None while it has no series."""
        result = self.get("query", query=query)["result"]
        return float(result[0]["value"][1]) if result else None


Stack = tuple[PrometheusApi, dict[str, str]]


def _cli_env(tmp_path: Path) -> dict[str, str]:
    """A private data dir, no config file, private ZMQ sockets, fast health checks."""
    (tmp_path / "none.toml").write_text("")
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DGXP_CONFIG": str(tmp_path / "none.toml"),
        "DGXP_DATA_DIR": str(tmp_path / "data"),
        "DGXP_HEALTH_INTERVAL_S": "0.5",
        "DGXP_ZMQ_ROUTER": f"ipc://{tmp_path}/zmq-router",
        "DGXP_ZMQ_PUB": f"ipc://{tmp_path}/zmq-pub",
    }


def _ready(process: subprocess.Popen[bytes], log: Path, ready: Callable[[], Any]) -> None:
    """Wait until `ready()`; fail with the log if it never is or the process exits."""
    _until(lambda: process.poll() is not None or ready(), f"{process.args!r} never came up", log)
    _alive(process, log)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Engine, daemon and Prometheus running (once per module: starting them is most of its
    time, so all start at once); yields the API and the environment for CLI runs on the
    daemon's data dir."""
    prometheus = require_binary("prometheus")
    tmp = tmp_path_factory.mktemp("stack")
    env = _cli_env(tmp)
    engine_port, metrics_port, web_port = free_port(), free_port(), free_port()
    engine, web = f"http://127.0.0.1:{engine_port}", f"http://127.0.0.1:{web_port}"
    config = _prometheus_config(tmp, f"127.0.0.1:{metrics_port}", f"127.0.0.1:{engine_port}")
    argvs = {
        "demo": [*CLI, "models", "demo"],
        "engine": [*CLI, "engine", "serve", "--cpu", "--port", str(engine_port)],
        "daemon": [*CLI, "serve", "--backend", engine, "--metrics-port", str(metrics_port)],
        "prometheus": [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{web_port}",
        ],
    }
    logs = {name: tmp / f"{name}.log" for name in argvs}
    with ExitStack() as running:
        started = {n: running.enter_context(_process(a, logs[n], env)) for n, a in argvs.items()}
        _ready(started["prometheus"], logs["prometheus"], _ok(f"{web}/-/ready"))
        _ready(started["engine"], logs["engine"], _ok(f"{engine}/system_stats"))
        _ready(started["daemon"], logs["daemon"], lambda: "daemon up" in _read(logs["daemon"]))
        demo = started["demo"]
        _until(lambda: demo.poll() is not None, "models demo never ended", logs["demo"])
        assert demo.returncode == 0, _read(logs["demo"])
        yield PrometheusApi(web), env


def _ok(url: str) -> Callable[[], bool]:
    return lambda: requests.get(url, timeout=2).ok


def _read(log: Path) -> str:
    return log.read_text(errors="replace")


def _targets_up(api: PrometheusApi) -> bool:
    active = api.get("targets")["activeTargets"]
    return len(active) == 2 and all(t["health"] == "up" for t in active)


def _targets(api: PrometheusApi) -> str:
    active = api.get("targets")["activeTargets"]
    return "scrape targets not up: " + "; ".join(
        f"{t['scrapeUrl']} {t['health']} {t['lastError']}" for t in active
    )


def test_prometheus_counts_three_jobs_and_runs_every_dashboard_query(
    stack: Stack,
) -> None:
    api, env = stack
    _until(lambda: _targets_up(api), lambda: _targets(api))
    generate = subprocess.run(
        [*CLI, "generate", "a coin", "-n", str(JOBS), "--seed", "1", *TINY, "--json"],
        env=env,
        capture_output=True,
        timeout=WAIT_S,
    )
    assert generate.returncode == 0, generate.stderr.decode(errors="replace")

    finished = "sum(dgxp_jobs_finished_total)"
    assert _until(lambda: api.scalar(finished) == JOBS, f"{finished} never read {JOBS}")
    assert api.scalar('sum(dgxp_jobs_finished_total{state="succeeded"})') == JOBS
    assert _until(
        lambda: api.scalar('dgxp_engine_prompts_total{status="success"}') == JOBS,
        "the engine's prompt counter never read 3",
    )
    for query in dashboard_queries():  # `get` asserts status "success" and names the query
        api.get("query", query=runnable(query.expr))
        _last_minute(api, query.expr)
    shown = [q for q in dashboard_queries() if q.panel in SHOWN_AFTER_JOBS]
    assert {q.panel for q in shown} == SHOWN_AFTER_JOBS, "a panel was renamed: update the set"
    for query in shown:
        _until(partial(_last_minute, api, query.expr), f"{query.where()} drew nothing")


def _last_minute(api: PrometheusApi, expr: str) -> list[dict[str, Any]]:
    """The series `expr` draws over the last minute, as a Grafana panel asks for them."""
    end = time.time()
    window = {"start": str(end - 60), "end": str(end), "step": "1"}
    result: list[dict[str, Any]] = api.get("query_range", query=runnable(expr), **window)["result"]
    return result


def test_every_alert_rule_evaluates_without_error(
    stack: Stack,
) -> None:
    api, _ = stack

    def evaluated() -> list[dict[str, Any]]:
        rules = [r for g in api.get("rules")["groups"] for r in g["rules"]]
        return rules if rules and all(r["health"] != "unknown" for r in rules) else []

    rules = _until(evaluated, "the alert rules were never evaluated")
    broken = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not broken
    firing = [r["name"] for r in rules if r["state"] == "firing"]
    assert firing == []  # a healthy loopback stack trips no alert
