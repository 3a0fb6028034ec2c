"""The environment of a CLI run in a test (importable: test folders are not packages)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["cli_env"]


def cli_env(tmp_path: Path, models: Path, **extra: str) -> dict[str, str]:
    """`DGXP_*` variables for a CLI run on `tmp_path/data` with `models`.

    The config is named and empty (`tmp_path/none.toml`): a named config must exist, and
    naming one keeps a `dgx-pixels.toml` in the working folder out of the test.

    Args:
        tmp_path: The test's folder.
        models: The models folder.
        **extra: More variables (`DGXP_TRAIN_DEVICE="cpu"`, `COLUMNS="40"`).
    """
    config = tmp_path / "none.toml"
    config.write_text("")
    return {
        "DGXP_DATA_DIR": str(tmp_path / "data"),
        "DGXP_MODELS_DIR": str(models),
        "DGXP_CONFIG": str(config),
        **extra,
    }
