"""`locate_sd_scripts`: a missing or wrong checkout, and a Python that is missing, not
executable, broken or without accelerate, are each refused naming the path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from training.errors import SdScriptsError
from training.kohya.install import locate_sd_scripts

FAKE = Path(__file__).resolve().parents[1] / "fake_sd_scripts"


def _checkout(tmp_path: Path) -> Path:
    root = tmp_path / "sd-scripts"
    root.mkdir()
    (root / "sdxl_train_network.py").write_text("")
    return root


def test_a_checkout_with_its_python_is_accepted() -> None:
    install = locate_sd_scripts(FAKE, Path(sys.executable))
    assert install.root == FAKE and install.script == FAKE / "sdxl_train_network.py"
    assert install.python == Path(sys.executable).absolute()


def test_the_checkouts_own_venv_python_is_found(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    (root / "venv" / "bin").mkdir(parents=True)
    python = root / "venv" / "bin" / "python"  # runs this venv's Python (has accelerate)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    os.chmod(python, 0o755)
    assert locate_sd_scripts(root).python == root / "venv" / "bin" / "python"


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(SdScriptsError) as refused:
        locate_sd_scripts(tmp_path / "nowhere", Path(sys.executable))
    assert refused.value.field == "sd_scripts"
    assert str(tmp_path / "nowhere") in str(refused.value) and "DGXP_SD_SCRIPTS" in str(
        refused.value
    )


def test_a_folder_without_the_training_script_is_named(tmp_path: Path) -> None:
    with pytest.raises(SdScriptsError) as refused:
        locate_sd_scripts(tmp_path, Path(sys.executable))
    assert refused.value.field == "sd_scripts" and "sdxl_train_network.py" in refused.value.reason


def test_no_python_given_or_found_says_which_setting_to_use(tmp_path: Path) -> None:
    with pytest.raises(SdScriptsError) as refused:
        locate_sd_scripts(_checkout(tmp_path))
    assert refused.value.field == "sd_scripts_python"
    assert "DGXP_SD_SCRIPTS_PYTHON" in refused.value.reason


def test_a_python_that_is_not_executable_is_named(tmp_path: Path) -> None:
    text = tmp_path / "python"
    text.write_text("not a program")
    with pytest.raises(SdScriptsError) as refused:
        locate_sd_scripts(_checkout(tmp_path), text)
    assert (refused.value.field, refused.value.value) == ("sd_scripts_python", str(text.absolute()))
    assert "not an executable" in refused.value.reason


def test_a_program_that_is_not_a_working_python_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text(
        "#!/bin/sh\necho 'ImportError: libpython3.11.so: cannot open' >&2\nexit 127\n"
    )
    os.chmod(broken, 0o755)
    with pytest.raises(SdScriptsError) as refused:
        locate_sd_scripts(_checkout(tmp_path), broken)
    assert refused.value.value == str(broken.absolute())
    assert "exit 127" in refused.value.reason and "libpython" in refused.value.reason


def test_a_python_without_accelerate_is_named_with_the_install_command(tmp_path: Path) -> None:
    venv = tmp_path / "bare-venv"  # a real Python with nothing installed
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    with pytest.raises(SdScriptsError) as refused:
        locate_sd_scripts(_checkout(tmp_path), python)
    assert refused.value.value == str(python.absolute())
    assert "accelerate" in refused.value.reason and "requirements.txt" in refused.value.reason
