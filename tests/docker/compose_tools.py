"""Debian's `docker-compose` (1.29) over docker/compose.yaml, for the compose tests.

A missing binary FAILS the test with what to install, never skips it (as the Prometheus
tools do): a CI without docker-compose must not pass the compose checks by not running them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_tools import ROOT

__all__ = ["COMPOSE_FILE", "DOCKER_DIR", "compose", "docker_compose", "resolved_config"]

DOCKER_DIR = ROOT / "docker"
COMPOSE_FILE = DOCKER_DIR / "compose.yaml"
# Variables the user may set for the stack; a test run starts without any of them.
_USER_VARS = ("COMFYUI_IMAGE", "COMFYUI_CUSTOM_NODES", "COMFYUI_MODELS", "DGXP_IMAGE_TAG")


def compose(
    *args: str,
    file: Path = COMPOSE_FILE,
    profiles: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `docker-compose -f FILE [--profile P]... ARGS` with only `env` of the user's vars."""
    clean = {k: v for k, v in os.environ.items() if k not in _USER_VARS}
    command = [docker_compose(), "-f", str(file)]
    for profile in profiles:
        command += ["--profile", profile]
    return subprocess.run(
        [*command, *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def docker_compose() -> str:
    """The `docker-compose` path; fails the test naming the package to install."""
    path = shutil.which("docker-compose")
    if path is None:
        pytest.fail(
            "`docker-compose` is not on PATH: install Debian's docker-compose package "
            "(`apt-get install -y docker-compose`); `bash scripts/setup.sh` installs it "
            "when run as root",
            pytrace=False,
        )
    return path


def resolved_config(
    profiles: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> dict[str, Any]:
    """The compose file as docker-compose resolves it (anchors merged, variables filled)."""
    result = compose("config", profiles=profiles, env=env)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config
