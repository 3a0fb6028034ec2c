"""Where the user's kohya sd-scripts lives, and whether its Python can run it.

sd-scripts is never vendored: the user points to a checkout (`DGXP_SD_SCRIPTS`,
`--sd-scripts`) and the Python that has its requirements (`DGXP_SD_SCRIPTS_PYTHON`, else the
checkout's own `venv/` or `.venv/`, as sd-scripts' README sets it up). `locate_sd_scripts`
checks both before a run starts and asks that Python once which of the modules a run needs
it can import, so a wrong path is a clear error naming the path instead of a crash minutes
into a run.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from training.errors import SdScriptsError

__all__ = ["TRAIN_SCRIPT", "SdScripts", "locate_sd_scripts"]

TRAIN_SCRIPT: Final[str] = "sdxl_train_network.py"

# The checkout's own virtual environments, in the order sd-scripts' README suggests them.
_VENV_PYTHONS: Final[tuple[str, ...]] = (
    "venv/bin/python",
    ".venv/bin/python",
    "venv/Scripts/python.exe",
    ".venv/Scripts/python.exe",
)
_PROBE: Final[str] = (
    "import importlib.util as u, json; "
    "print(json.dumps({m: u.find_spec(m) is not None for m in ('accelerate', 'bitsandbytes')}))"
)
_PROBE_TIMEOUT_S: Final[float] = 120.0


@dataclass(frozen=True)
class SdScripts:
    """A checked sd-scripts installation.

    Attributes:
        root: The checkout (holds `sdxl_train_network.py`).
        python: Its Python interpreter (has accelerate).
        has_bitsandbytes: That Python can import bitsandbytes (8-bit AdamW).
    """

    root: Path
    python: Path
    has_bitsandbytes: bool = False

    @property
    def script(self) -> Path:
        """The SDXL LoRA training script."""
        return self.root / TRAIN_SCRIPT


def _checkout(root: Path) -> Path:
    root = root.expanduser()
    if not root.is_dir():
        raise SdScriptsError(
            "sd_scripts",
            str(root),
            "is not a folder; point DGXP_SD_SCRIPTS or --sd-scripts at a kohya-ss/sd-scripts "
            "checkout (git clone https://github.com/kohya-ss/sd-scripts)",
        )
    if not (root / TRAIN_SCRIPT).is_file():
        raise SdScriptsError(
            "sd_scripts",
            str(root),
            f"holds no {TRAIN_SCRIPT}; is this a kohya-ss/sd-scripts checkout?",
        )
    return root.absolute()


def _interpreter(root: Path, python: Path | None) -> Path:
    if python is None:
        found = [root / rel for rel in _VENV_PYTHONS if (root / rel).is_file()]
        if not found:
            raise SdScriptsError(
                "sd_scripts_python",
                None,
                f"no venv/bin/python or .venv/bin/python in {root}; set "
                "DGXP_SD_SCRIPTS_PYTHON to the Python you installed sd-scripts' requirements into",
            )
        python = found[0]
    python = python.expanduser()
    if not python.is_file() or not os.access(python, os.X_OK):
        raise SdScriptsError(
            "sd_scripts_python", str(python), "is not an executable file (a Python interpreter)"
        )
    return python.absolute()


def _probe(python: Path) -> dict[str, bool]:
    """Which of the modules a run needs `python` can import."""
    try:
        done = subprocess.run(
            [str(python), "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SdScriptsError("sd_scripts_python", str(python), f"cannot be run ({exc})") from exc
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    except (json.JSONDecodeError, IndexError):
        found = None
    if not isinstance(found, dict):
        tail = (done.stderr or done.stdout).strip()[-400:]
        raise SdScriptsError(
            "sd_scripts_python",
            str(python),
            f"is not a working Python (exit {done.returncode}: {tail})",
        )
    return {str(name): bool(ok) for name, ok in found.items()}


def locate_sd_scripts(root: Path, python: Path | None = None) -> SdScripts:
    """Check an sd-scripts checkout and its Python.

    Args:
        root: The checkout.
        python: Its interpreter; None: `venv/` or `.venv/` inside the checkout.

    Returns:
        The checked installation.

    Raises:
        SdScriptsError: the folder is missing or holds no `sdxl_train_network.py`, no Python
            was given or found, it is not executable or not a working Python, or it cannot
            import accelerate (field `sd_scripts` or `sd_scripts_python`, with the path).
    """
    checkout = _checkout(root)
    interpreter = _interpreter(checkout, python)
    modules = _probe(interpreter)
    if not modules.get("accelerate"):
        raise SdScriptsError(
            "sd_scripts_python",
            str(interpreter),
            "cannot import accelerate; install sd-scripts' requirements into it "
            f"(cd {checkout} && {interpreter} -m pip install -r requirements.txt)",
        )
    return SdScripts(checkout, interpreter, modules.get("bitsandbytes", False))
