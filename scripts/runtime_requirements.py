"""Print the runtime requirements of the container images, one per line, for pip-compile.

The images run the daemon and `engine serve` (with MCP), so they need the base dependencies
and the `engine`, `daemon` and `mcp` extras of pyproject.toml, read from there (never
restated). torch is left out: on the GB10 it comes with NVIDIA's PyTorch base image (an
arm64 CUDA build that PyPI does not carry), on a CPU machine from scripts/setup.sh's CPU
wheel; pinning PyPI's torch would pull gigabytes of CUDA wheels the images never use.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

__all__ = ["IMAGE_EXTRAS", "NOT_LOCKED", "runtime_requirements"]

IMAGE_EXTRAS = ("engine", "daemon", "mcp")
# Provided by the base image (CUDA) or by setup.sh (CPU), never by the lock.
NOT_LOCKED = frozenset({"torch"})
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def runtime_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """The image's requirement strings: base dependencies plus IMAGE_EXTRAS, minus NOT_LOCKED."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in IMAGE_EXTRAS:
        lines.extend(project["optional-dependencies"][extra])
    return [line for line in lines if Requirement(line).name not in NOT_LOCKED]


if __name__ == "__main__":
    sys.stdout.write("".join(f"{line}\n" for line in runtime_requirements()))
