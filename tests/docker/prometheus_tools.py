"""The real Prometheus binaries for the docker/ tests, and the repo's Prometheus files.

The tests call Debian's `prometheus` package (`promtool`, `prometheus`); `scripts/setup.sh`
installs it when run as root. A missing binary FAILS the test with what to install, never
skips it: a CI without Prometheus must not pass the alert checks by not running them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["PROMETHEUS_DIR", "ROOT", "promtool", "require_binary"]

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "docker" / "prometheus"
INSTALL_HINT = (
    "install Debian's prometheus package (`apt-get install -y prometheus`); "
    "`bash scripts/setup.sh` installs it when run as root"
)


def require_binary(name: str) -> str:
    """The path of the Prometheus tool `name`; fails the test naming what to install."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: {INSTALL_HINT}", pytrace=False)
    return path


def promtool(*args: str | Path, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    """Run `promtool ARGS` in `cwd` (bounded: promtool answers in well under a second)."""
    return subprocess.run(
        [require_binary("promtool"), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
