"""docker/compose.yaml is valid for Debian's docker-compose 1.29 and plainly correct.

The real `docker-compose config` validates and resolves the file (with each profile); the
commands and DGXP_* variables it gives our services are checked against the real CLI and
the real settings class, so a renamed flag or setting breaks this test, not a deployment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import typer.main
from compose_tools import COMPOSE_FILE, DOCKER_DIR, compose, resolved_config

from orchestrator.adapters.cli.app import app
from orchestrator.settings import Settings

OUR_SERVICES = ("daemon", "engine")
PROFILES: list[tuple[str, ...]] = [(), ("gpu",), ("comfyui",), ("gpu", "comfyui")]
COMFYUI_ENV = {"COMFYUI_IMAGE": "example.org/comfyui:v0.3.60"}


@pytest.mark.parametrize("profiles", PROFILES, ids=lambda p: "+".join(p) or "default")
def test_config_validates_with_each_profile(profiles: tuple[str, ...]) -> None:
    result = compose("config", "-q", profiles=profiles, env=COMFYUI_ENV)
    assert result.returncode == 0, result.stderr


def test_an_unknown_service_key_fails_validation(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    broken.write_text(text.replace("    shm_size: 8gb", "    shm_sise: 8gb", 1), encoding="utf-8")
    result = compose("config", "-q", file=broken)
    assert result.returncode != 0
    assert "shm_sise" in result.stderr


def _command(path: tuple[str, ...]) -> Any:
    """The CLI's click command at `path` (typer vendors its own click: duck-typed)."""
    command: Any = typer.main.get_command(app)
    for name in path:
        assert hasattr(command, "commands"), path
        command = command.commands[name]
    return command


def _cli_path(argv: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """Split a service's command into the CLI subcommand path and its options."""
    path: tuple[str, ...] = ()
    rest = list(argv)
    while rest and not rest[0].startswith("-"):
        path = (*path, rest.pop(0))
    return path, rest


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_our_services_run_real_cli_options(service: str) -> None:
    config = resolved_config()["services"][service]
    path, options = _cli_path(config["command"])
    command = _command(path)
    known = {opt for param in command.params for opt in param.opts}
    flags = [arg for arg in options if arg.startswith("-")]
    assert flags, config["command"]
    assert set(flags) <= known, f"{service}: {sorted(set(flags) - known)} not in {path}"
    # Parsing with the real command catches a value of the wrong kind, too.
    command.make_context(" ".join(path), options, resilient_parsing=False).close()


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_our_services_env_vars_are_valid_settings(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment: dict[str, str] = resolved_config()["services"][service]["environment"]
    for name in [n for n in os.environ if n.upper().startswith("DGXP_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        assert name.startswith("DGXP_"), name
        assert name.removeprefix("DGXP_").lower() in Settings.model_fields, name
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert str(settings.data_dir) == environment["DGXP_DATA_DIR"]


def _published(config: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (name, str(port))
        for name, service in config["services"].items()
        for port in service.get("ports", [])
    ]


def test_every_published_port_binds_loopback() -> None:
    ports = _published(resolved_config(profiles=("gpu", "comfyui"), env=COMFYUI_ENV))
    assert len(ports) >= 8, ports
    open_ports = [(name, port) for name, port in ports if not port.startswith("127.0.0.1:")]
    assert not open_ports


def test_data_lives_on_named_volumes_and_binds_are_read_only_repo_files() -> None:
    config = resolved_config(profiles=("gpu", "comfyui"), env=COMFYUI_ENV)
    named = set(config["volumes"])
    for name, service in config["services"].items():
        for mount in service.get("volumes", []):
            source, _target, *mode = str(mount).split(":")
            if source.startswith("/"):  # a bind mount: only our config files, read-only
                assert Path(source).is_relative_to(DOCKER_DIR.parent), (name, mount)
                assert Path(source).exists(), (name, mount)
                assert mode == ["ro"], (name, mount)
            else:
                assert source in named, (name, mount)
    assert {"daemon-data", "engine-data", "models"} <= named


def test_third_party_images_are_pinned_by_tag() -> None:
    config = resolved_config(profiles=("gpu",))
    for name, service in config["services"].items():
        if "build" in service:
            continue
        image: str = service["image"]
        tag = image.rpartition(":")[2]
        assert "/" not in tag and tag not in {"", "latest"}, (name, image)


def test_comfyui_image_and_paths_come_from_the_users_variables() -> None:
    env = {**COMFYUI_ENV, "COMFYUI_CUSTOM_NODES": "/app/custom_nodes"}
    service = resolved_config(profiles=("comfyui",), env=env)["services"]["comfyui"]
    assert service["image"] == COMFYUI_ENV["COMFYUI_IMAGE"]
    pack = f"{DOCKER_DIR.parent / 'comfy_nodes'}:/app/custom_nodes/dgx_pixels:ro"
    assert pack in service["volumes"]


def test_comfyui_without_an_image_names_the_missing_variable() -> None:
    # Compose cannot require a variable for one profile only (it interpolates every service),
    # so the unset image is a placeholder that names COMFYUI_IMAGE when its pull fails.
    service = resolved_config(profiles=("comfyui",))["services"]["comfyui"]
    assert "comfyui_image" in service["image"]
    assert service["profiles"] == ["comfyui"]


@pytest.mark.parametrize("service", ["engine", "dcgm-exporter"])
def test_gpu_services_reserve_nvidia_devices(service: str) -> None:
    config = resolved_config(profiles=("gpu",))["services"][service]
    devices = config["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"capabilities": ["gpu"], "count": "all", "driver": "nvidia"}]
