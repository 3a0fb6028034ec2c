"""The kohya sd-scripts trainer backend: the user's checkout, run as an external process.

`locate_sd_scripts` checks a checkout and its Python; `KohyaBackend` renders sd-scripts'
config and dataset TOML files from a `TrainingSpec`, launches `sdxl_train_network.py`
through `accelerate launch`, follows its progress and collects the LoRA. sd-scripts itself
is never vendored.
"""

from __future__ import annotations

from training.kohya.install import SdScripts, locate_sd_scripts
from training.kohya.launcher import KohyaBackend

__all__ = ["KohyaBackend", "SdScripts", "locate_sd_scripts"]
