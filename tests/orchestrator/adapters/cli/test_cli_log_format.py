"""`--log-format json` (or the log_format setting): every stderr log line is one JSON
object with time, level, logger, message, job_id and backend; text stays the default; a
bad value is a usage error naming the option."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_testkit import cli_env

from orchestrator.adapters.cli.log_format import JsonFormatter
from orchestrator.service.log_context import job_context

ROOT = Path(__file__).resolve().parents[4]
CLI = [sys.executable, "-c", "from orchestrator.adapters.cli.app import main; main()"]
TINY = ["--steps", "1", "--param", "checkpoint=tiny_sdxl.safetensors"]
TINY += ["--param", "width=64", "--param", "height=64"]
KEYS = {"time", "level", "logger", "message", "job_id", "backend"}


@pytest.fixture
def env(tmp_path: Path, engine_models_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        **cli_env(tmp_path, engine_models_dir, PYTHONPATH=str(ROOT), COLUMNS="40"),
    }


def _generate(env: dict[str, str], url: str, *root: str) -> subprocess.CompletedProcess[str]:
    argv = [*CLI, *root, "generate", "a coin", "--seed", "4", *TINY, "--backend", url]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


def _records(stderr: str) -> list[dict[str, Any]]:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("{")]
    return [json.loads(ln) for ln in lines]


def test_json_logs_are_one_object_per_line_naming_the_job_and_backend(
    orch_engine: Any, env: dict[str, str]
) -> None:
    done = _generate(env, orch_engine.url, "--log-format", "json")
    assert done.returncode == 0, done.stderr
    records = _records(done.stderr)
    assert records, done.stderr
    assert all(set(r) == KEYS for r in records)
    assert all(r["time"].endswith("Z") and r["level"] in {"INFO", "WARNING"} for r in records)
    url = orch_engine.url.rstrip("/")
    (succeeded,) = [r for r in records if "succeeded" in r["message"]]
    assert succeeded["logger"] == "orchestrator.service.job_runner"
    assert succeeded["backend"] == url
    assert succeeded["job_id"] and succeeded["message"].startswith(f"job {succeeded['job_id'][:8]}")
    (sprite,) = done.stdout.splitlines()  # results stay on stdout, untouched
    assert Path(sprite).is_file()


def test_the_setting_turns_json_on_and_text_stays_the_default(
    orch_engine: Any, env: dict[str, str]
) -> None:
    text = _generate(env, orch_engine.url)
    assert text.returncode == 0, text.stderr
    assert _records(text.stderr) == []
    assert " INFO orchestrator." in text.stderr
    as_json = _generate({**env, "DGXP_LOG_FORMAT": "json"}, orch_engine.url)
    assert as_json.returncode == 0, as_json.stderr
    assert any("succeeded" in r["message"] for r in _records(as_json.stderr))


def test_an_unknown_log_format_is_a_usage_error_naming_the_option(env: dict[str, str]) -> None:
    done = subprocess.run(
        [*CLI, "--log-format", "xml", "jobs", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--log-format" in done.stderr and "'xml' is not one of text, json" in done.stderr


def test_extra_fields_win_over_the_job_context_and_tracebacks_are_kept() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord("x.y", logging.ERROR, __file__, 1, "boom %s", ("now",), None)
    record.job_id = "from-extra"
    with job_context("from-context", "http://b:1"):
        entry = json.loads(formatter.format(record))
    assert (entry["job_id"], entry["backend"], entry["message"]) == (
        "from-extra",
        "http://b:1",
        "boom now",
    )
    try:
        raise ValueError("bad")
    except ValueError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", (), sys.exc_info())
    entry = json.loads(formatter.format(failed))
    assert entry["job_id"] is None and "ValueError: bad" in entry["exc_info"]


def test_the_setting_accepts_exactly_the_formats_the_option_does() -> None:
    from typing import get_args

    from orchestrator.adapters.cli.log_format import LOG_FORMATS
    from orchestrator.settings import Settings

    assert get_args(Settings.model_fields["log_format"].annotation) == LOG_FORMATS
