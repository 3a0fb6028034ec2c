"""`dgx-pixels comfy link|unlink` against a real (fake-content) ComfyUI folder layout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app
from orchestrator.adapters.cli.comfy import pack_dir

USER_YAML = """\
# my own ComfyUI paths — keep this comment
a111:
    base_path: /srv/a1111
    checkpoints: models/Stable-diffusion
    loras: |
        models/Lora
        models/LyCORIS

other:   # trailing comment
    base_path: /data
    vae: vae
"""


@pytest.fixture
def comfy(tmp_path: Path) -> Path:
    root = tmp_path / "ComfyUI"
    (root / "custom_nodes").mkdir(parents=True)
    (root / "main.py").write_text("# ComfyUI entry point\n")
    return root


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return tmp_path / "dgx-models"


def _run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["comfy", *map(str, args)])
    return result.exit_code, result.output


def _comfy_model_paths(yaml_path: Path) -> dict[str, list[Path]]:
    """What ComfyUI's utils/extra_config.load_extra_path_config makes of the file."""
    found: dict[str, list[Path]] = {}
    for section in (yaml.safe_load(yaml_path.read_text()) or {}).values():
        base = Path(section.get("base_path", yaml_path.parent))
        for key, value in section.items():
            if key in ("base_path", "is_default"):
                continue
            for entry in str(value).split("\n"):
                if entry.strip():
                    found.setdefault(key, []).append(base / entry.strip())
    return found


def test_link_makes_the_symlink_and_the_model_paths(comfy: Path, models: Path) -> None:
    code, output = _run("link", comfy, "--models-dir", models)
    assert code == 0, output
    link = comfy / "custom_nodes" / "dgx_pixels"
    assert link.is_symlink() and link.resolve() == pack_dir()
    assert (link / "__init__.py").is_file()
    paths = _comfy_model_paths(comfy / "extra_model_paths.yaml")
    assert paths["checkpoints"] == [models.resolve() / "checkpoints"]
    assert paths["loras"] == [models.resolve() / "loras"]
    assert (models / "checkpoints").is_dir() and (models / "loras").is_dir()


def test_link_keeps_other_sections_and_comments_byte_for_byte(comfy: Path, models: Path) -> None:
    (comfy / "extra_model_paths.yaml").write_text(USER_YAML)
    code, output = _run("link", comfy, "--models-dir", models)
    assert code == 0, output
    text = (comfy / "extra_model_paths.yaml").read_text()
    assert text.startswith(USER_YAML)
    data = yaml.safe_load(text)
    assert data["a111"]["loras"] == "models/Lora\nmodels/LyCORIS\n"
    assert data["dgx_pixels"]["base_path"] == str(models.resolve())


def test_linking_twice_changes_nothing(comfy: Path, models: Path) -> None:
    (comfy / "extra_model_paths.yaml").write_text(USER_YAML)
    assert _run("link", comfy, "--models-dir", models)[0] == 0
    first = (comfy / "extra_model_paths.yaml").read_text()
    code, output = _run("link", comfy, "--models-dir", models)
    assert code == 0 and "already linked" in output and "already set" in output
    assert (comfy / "extra_model_paths.yaml").read_text() == first


def test_dry_run_changes_nothing(comfy: Path, models: Path) -> None:
    (comfy / "extra_model_paths.yaml").write_text(USER_YAML)
    code, output = _run("link", comfy, "--models-dir", models, "--dry-run")
    assert code == 0 and "dry run" in output
    assert sorted(p.name for p in (comfy / "custom_nodes").iterdir()) == []
    assert (comfy / "extra_model_paths.yaml").read_text() == USER_YAML
    assert not models.exists()


@pytest.mark.parametrize("missing", ["main.py", "custom_nodes"])
def test_a_folder_that_is_not_comfyui_is_refused(comfy: Path, models: Path, missing: str) -> None:
    target = comfy / missing
    target.rmdir() if target.is_dir() else target.unlink()
    code, output = _run("link", comfy, "--models-dir", models)
    assert code == 1
    assert "does not look like ComfyUI" in output and missing in output
    assert not (comfy / "extra_model_paths.yaml").exists()


def test_someone_elses_dgx_pixels_folder_is_left_alone(comfy: Path, models: Path) -> None:
    theirs = comfy / "custom_nodes" / "dgx_pixels"
    theirs.mkdir()
    (theirs / "__init__.py").write_text("# a different pack\n")
    code, output = _run("link", comfy, "--models-dir", models)
    assert code == 1 and "already exists" in output
    assert (theirs / "__init__.py").read_text() == "# a different pack\n"
    assert not (comfy / "extra_model_paths.yaml").exists()


def test_a_link_to_another_checkout_is_refused(comfy: Path, models: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "old_checkout" / "comfy_nodes"
    elsewhere.mkdir(parents=True)
    (comfy / "custom_nodes" / "dgx_pixels").symlink_to(elsewhere)
    code, output = _run("link", comfy, "--models-dir", models)
    assert code == 1 and "already links to" in output
    assert os.readlink(comfy / "custom_nodes" / "dgx_pixels") == str(elsewhere)


def test_malformed_yaml_is_refused_and_left_untouched(comfy: Path, models: Path) -> None:
    broken = "a111:\n  base_path: [unclosed\n"
    (comfy / "extra_model_paths.yaml").write_text(broken)
    code, output = _run("link", comfy, "--models-dir", models)
    assert code == 1 and "not valid YAML" in output
    assert (comfy / "extra_model_paths.yaml").read_text() == broken
    assert not (comfy / "custom_nodes" / "dgx_pixels").exists()


def test_unlink_removes_only_what_link_added(comfy: Path, models: Path) -> None:
    (comfy / "extra_model_paths.yaml").write_text(USER_YAML)
    assert _run("link", comfy, "--models-dir", models)[0] == 0
    code, output = _run("unlink", comfy)
    assert code == 0, output
    assert not (comfy / "custom_nodes" / "dgx_pixels").is_symlink()
    assert (comfy / "extra_model_paths.yaml").read_text() == USER_YAML
    assert (models / "checkpoints").is_dir()  # the user's models are never touched


def test_unlink_removes_a_yaml_that_only_held_our_section(comfy: Path, models: Path) -> None:
    assert _run("link", comfy, "--models-dir", models)[0] == 0
    assert _run("unlink", comfy)[0] == 0
    assert not (comfy / "extra_model_paths.yaml").exists()
    assert _run("unlink", comfy) == (0, "nothing to remove: DGX-Pixels is not linked there\n")


def test_unlink_takes_our_section_out_of_the_middle(comfy: Path) -> None:
    head, tail = USER_YAML.split("\nother:")
    ours = "dgx_pixels:\n    base_path: /x\n    loras: loras\n"
    (comfy / "extra_model_paths.yaml").write_text(head + "\n" + ours + "\nother:" + tail)
    assert _run("unlink", comfy)[0] == 0
    assert yaml.safe_load((comfy / "extra_model_paths.yaml").read_text()) == yaml.safe_load(
        USER_YAML
    )


def test_unlink_refuses_to_remove_a_foreign_folder(comfy: Path) -> None:
    theirs = comfy / "custom_nodes" / "dgx_pixels"
    theirs.mkdir()
    code, output = _run("unlink", comfy)
    assert code == 1 and "not a link made by dgx-pixels" in output
    assert theirs.is_dir()


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A folder ComfyUI is started with via `--base-directory` (no custom_nodes/ yet)."""
    folder = tmp_path / "comfy-data"
    folder.mkdir()
    return folder


def test_base_directory_links_there_and_prints_the_start_flags(
    comfy: Path, models: Path, base: Path
) -> None:
    code, output = _run("link", comfy, "--models-dir", models, "--base-directory", base)
    assert code == 0, output
    link = base / "custom_nodes" / "dgx_pixels"
    assert link.is_symlink() and link.resolve() == pack_dir()
    # the ComfyUI install itself is left alone
    assert os.listdir(comfy / "custom_nodes") == []
    assert not (comfy / "extra_model_paths.yaml").exists()
    yaml_path = base / "extra_model_paths.yaml"
    assert _comfy_model_paths(yaml_path)["loras"] == [models.resolve() / "loras"]
    flags = (
        f"python main.py --base-directory {base.resolve()} "
        f"--extra-model-paths-config {yaml_path.resolve()}"
    )
    assert flags in " ".join(output.split())


def test_base_directory_that_is_the_comfyui_folder_needs_no_yaml_flag(
    comfy: Path, models: Path
) -> None:
    code, output = _run("link", comfy, "--models-dir", models, "--base-directory", comfy)
    assert code == 0, output
    assert (comfy / "custom_nodes" / "dgx_pixels").is_symlink()
    assert (comfy / "extra_model_paths.yaml").is_file()
    assert f"python main.py --base-directory {comfy.resolve()}" in output
    assert "--extra-model-paths-config" not in output


def test_a_missing_base_directory_is_refused_naming_the_option(
    comfy: Path, models: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere"
    code, output = _run("link", comfy, "--models-dir", models, "--base-directory", missing)
    assert code == 1
    assert "--base-directory=" in output and "nowhere" in output
    assert not missing.exists() and os.listdir(comfy / "custom_nodes") == []


def test_base_directory_dry_run_changes_nothing(comfy: Path, models: Path, base: Path) -> None:
    code, output = _run(
        "link", comfy, "--models-dir", models, "--base-directory", base, "--dry-run"
    )
    assert code == 0, output
    assert os.listdir(base) == [] and "dry run" in output
    assert f"--base-directory {base.resolve()} --extra-model-paths-config" in output


def test_unlink_with_base_directory_removes_only_what_link_put_there(
    comfy: Path, models: Path, base: Path
) -> None:
    (base / "extra_model_paths.yaml").write_text(USER_YAML)
    assert _run("link", comfy, "--models-dir", models, "--base-directory", base)[0] == 0
    code, output = _run("unlink", comfy, "--base-directory", base)
    assert code == 0, output
    assert not (base / "custom_nodes" / "dgx_pixels").exists()
    assert (base / "extra_model_paths.yaml").read_text() == USER_YAML
