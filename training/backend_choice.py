"""Which trainer runs a LoRA: the one rule, in one function.

The user's kohya sd-scripts when one is configured (`DGXP_SD_SCRIPTS`, `--sd-scripts`),
checked before anything starts; otherwise the embedded diffusers + peft trainer. A
configured checkout that is unusable is an error naming the path, never a silent switch to
the other trainer: a run that was meant for sd-scripts should not quietly take hours on
another one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from training.errors import SdScriptsError

if TYPE_CHECKING:
    from training.backend import TrainerBackend

__all__ = ["choose_backend"]


def choose_backend(
    sd_scripts: Path | None,
    sd_scripts_python: Path | None,
    tokenizer_cache_dir: Path,
) -> TrainerBackend:
    """The trainer for the next run.

    Args:
        sd_scripts: A kohya-ss/sd-scripts checkout, or None for the embedded trainer.
        sd_scripts_python: Its Python (None: the checkout's `venv/` or `.venv/`).
        tokenizer_cache_dir: Where sd-scripts keeps its tokenizers between runs.

    Returns:
        `KohyaBackend` for a configured, checked checkout; else `EmbeddedTrainer`. Both are
        imported only here, when chosen (the embedded one loads torch and diffusers).

    Raises:
        SdScriptsError: the checkout or its Python is unusable (field and path named), or
            a Python is given without a checkout.
    """
    if sd_scripts is None:
        if sd_scripts_python is not None:
            raise SdScriptsError(
                "sd_scripts",
                None,
                f"sd_scripts_python is set ({sd_scripts_python}) but no sd-scripts checkout "
                "is; set DGXP_SD_SCRIPTS too, or unset DGXP_SD_SCRIPTS_PYTHON",
            )
        from training.embedded import EmbeddedTrainer

        return EmbeddedTrainer()
    from training.kohya import KohyaBackend, locate_sd_scripts

    return KohyaBackend(locate_sd_scripts(sd_scripts, sd_scripts_python), tokenizer_cache_dir)
