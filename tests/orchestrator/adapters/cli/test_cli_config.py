"""`--config FILE`, `DGXP_CONFIG` and `DGXP_*` values through the real CLI.

A settings problem is one stderr line naming the file (or variable) and the key, exit 2,
at any terminal width; `jobs list` reads the settings and opens the job store in the data dir
they name, which shows which value won.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app

DGX_PIXELS = Path(sys.executable).with_name("dgx-pixels")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No DGXP_* from the caller, a data dir in tmp_path, and the working dir's config off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DGXP_")}
    env["DGXP_DATA_DIR"] = str(tmp_path / "env-data")
    return {**env, **extra}


def _invoke(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    previous = Path.cwd()
    os.chdir(cwd)  # ./dgx-pixels.toml is read from here
    try:
        result = CliRunner().invoke(app, args, env=env)
    finally:
        os.chdir(previous)
    return result.exit_code, result.stdout, result.stderr


def test_config_file_is_read_and_environment_wins_over_it(tmp_path: Path) -> None:
    config = tmp_path / "my.toml"
    config.write_text(f'data_dir = "{tmp_path / "file-data"}"\nworkers = 3\n')
    env = _env(tmp_path)
    del env["DGXP_DATA_DIR"]
    code, out, err = _invoke(["--config", str(config), "jobs", "list", "--json"], env, tmp_path)
    assert code == 0, err
    assert json.loads(out) == []
    assert (tmp_path / "file-data" / "jobs.sqlite3").exists()

    code, _, err = _invoke(["--config", str(config), "jobs", "list"], _env(tmp_path), tmp_path)
    assert code == 0, err
    assert (tmp_path / "env-data" / "jobs.sqlite3").exists()


def test_the_working_directory_config_is_read_when_present(tmp_path: Path) -> None:
    (tmp_path / "dgx-pixels.toml").write_text(f'data_dir = "{tmp_path / "cwd-data"}"\n')
    env = _env(tmp_path)
    del env["DGXP_DATA_DIR"]
    code, _, err = _invoke(["jobs", "list"], env, tmp_path)
    assert code == 0, err
    assert (tmp_path / "cwd-data" / "jobs.sqlite3").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, ["does not exist"]),
        ("workers = 3\nlog_level = = 1\n", ["not valid TOML", "line 2"]),
        ("wokers = 3\n", ["unknown key 'wokers'", "did you mean 'workers'?"]),
        ("colour = 3\n", ["unknown key 'colour'", "valid keys:", "data_dir"]),
        ("workers = 999\n", ["key 'workers' = 999", "less than or equal to 64"]),
        ("backends = 5\n", ["key 'backends' = 5", "list"]),
    ],
    ids=["missing", "malformed", "misspelt", "unknown", "out-of-range", "wrong-type"],
)
def test_a_bad_config_file_is_one_line_naming_the_file_and_key(
    tmp_path: Path, content: str | None, expected: list[str]
) -> None:
    config = tmp_path / "settings.toml"
    if content is not None:
        config.write_text(content)
    code, out, err = _invoke(["--config", str(config), "jobs", "list"], _env(tmp_path), tmp_path)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: config file ")
    assert str(config) in err
    for part in expected:
        assert part in err
    assert not (tmp_path / "env-data").exists()  # nothing was opened or created


def test_dgxp_config_naming_a_missing_file_is_refused(tmp_path: Path) -> None:
    env = _env(tmp_path, DGXP_CONFIG=str(tmp_path / "gone.toml"))
    code, _, err = _invoke(["jobs", "list"], env, tmp_path)
    assert code == 2
    assert err == f"error: config file {tmp_path / 'gone.toml'} (from DGXP_CONFIG) does not exist\n"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DGXP_WORKERS", "many", "valid integer"),
        ("DGXP_BACKENDS", "http://box:8188", "not valid JSON"),
        ("DGXP_ENGINE_PRECISION", "fp4", "'auto', 'fp16', 'bf16', 'fp32' or 'fp8'"),
    ],
)
def test_a_bad_environment_value_is_one_line_naming_the_variable(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    code, out, err = _invoke(["jobs", "list"], _env(tmp_path, **{name: value}), tmp_path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"error: environment variable {name}={value!r}: ")
    assert expected in err


def test_unknown_dgxp_variables_of_other_tools_are_ignored(tmp_path: Path) -> None:
    code, _, err = _invoke(["jobs", "list"], _env(tmp_path, DGXP_SOMETHING_ELSE="1"), tmp_path)
    assert code == 0, err


def test_the_installed_script_prints_the_same_whole_line_at_any_width(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "dgx-pixels.settings.toml"
    deep.parent.mkdir(parents=True)
    deep.write_text("max_attempts = 0\n")
    runs = []
    for columns in ("40", "300"):
        proc = subprocess.run(
            [str(DGX_PIXELS), "--config", str(deep), "jobs", "list"],
            capture_output=True,
            text=True,
            env=_env(tmp_path, COLUMNS=columns),
            cwd=tmp_path,
            timeout=120,
        )
        runs.append((proc.returncode, proc.stdout, proc.stderr))
    assert runs[0] == runs[1]
    code, out, err = runs[0]
    assert code == 2 and out == ""
    assert err == (
        f"error: config file {deep}: key 'max_attempts' = 0: "
        "Input should be greater than or equal to 1\n"
    )
