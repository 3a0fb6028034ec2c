"""`choose_backend`: sd-scripts when configured (and usable), the embedded trainer otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from training.backend_choice import choose_backend
from training.errors import SdScriptsError

FAKE = Path(__file__).resolve().parent / "fake_sd_scripts"


def test_no_checkout_configured_means_the_embedded_trainer(tmp_path: Path) -> None:
    assert choose_backend(None, None, tmp_path).name == "embedded"


def test_a_configured_checkout_means_sd_scripts(tmp_path: Path) -> None:
    backend = choose_backend(FAKE, Path(sys.executable), tmp_path / "tok")
    assert backend.name == "kohya"


def test_a_configured_but_unusable_checkout_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(SdScriptsError) as refused:
        choose_backend(tmp_path / "missing", Path(sys.executable), tmp_path)
    assert refused.value.field == "sd_scripts" and str(tmp_path / "missing") in str(refused.value)


def test_a_python_without_a_checkout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SdScriptsError) as refused:
        choose_backend(None, Path(sys.executable), tmp_path)
    assert refused.value.field == "sd_scripts" and "DGXP_SD_SCRIPTS" in refused.value.reason
