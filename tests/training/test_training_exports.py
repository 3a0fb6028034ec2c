"""Every `training` module declares `__all__`, each listed name exists, and importing the
package or its spec loads no torch (the CLI's help stays instant)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import training


def test_every_module_declares_all_and_its_names_exist() -> None:
    for info in pkgutil.iter_modules(training.__path__, "training."):
        module = importlib.import_module(info.name)
        names = getattr(module, "__all__", None)
        assert names is not None, f"{info.name} has no __all__"
        missing = [name for name in names if not hasattr(module, name)]
        assert not missing, f"{info.name}.__all__ lists missing names {missing}"


def test_the_package_and_the_dataset_vocabulary_load_no_torch() -> None:
    code = (
        "import sys, training, training.dataset_modes, training.spec; print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
