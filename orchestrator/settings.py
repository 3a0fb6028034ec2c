"""The one settings class, loaded once at the entry point and passed down.

Values come from (highest first) constructor arguments, `DGXP_*` environment variables and an
optional `dgx-pixels.toml` in the working directory (or the file named by `--config` or
`DGXP_CONFIG`, which must then exist). `load_settings` is the entry points' loader: a missing
or malformed file, an unknown key in it, or a bad value (from the file or from a `DGXP_*`
variable) is a `ConfigError` whose one-line message names the file or variable and the key.

Unknown keys in the TOML file are refused (a misspelt key would otherwise be ignored
silently). Unknown `DGXP_*` environment variables are ignored: the environment is shared
with other tools and scripts (`DGXP_CONFIG` itself is one), so a stray variable must not
stop the CLI.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from orchestrator.errors import ConfigError

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_FILE",
    "ConfigError",
    "Settings",
    "default_data_dir",
    "load_settings",
]

DEFAULT_CONFIG_FILE = "dgx-pixels.toml"
CONFIG_ENV_VAR = "DGXP_CONFIG"


def default_data_dir() -> Path:
    """Where jobs, outputs and models live unless told otherwise (XDG data home)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dgx-pixels"


class Settings(BaseSettings):
    """Every knob of DGX-Pixels. Each adapter reads only the fields it needs."""

    model_config = SettingsConfigDict(
        env_prefix="DGXP_",
        env_nested_delimiter="__",
        toml_file=DEFAULT_CONFIG_FILE,
        extra="forbid",  # in the TOML file and in code; env sources only yield known fields
    )

    # --- storage ---------------------------------------------------------------------------
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Root for the job database, outputs and (by default) models.",
    )
    models_dir: Path | None = Field(
        default=None,
        description="ComfyUI-style models folder (checkpoints/, loras/). Default: DATA_DIR/models.",
    )
    output_dir: Path | None = Field(
        default=None, description="Where sprites are written. Default: DATA_DIR/outputs."
    )
    templates_dir: Path | None = Field(
        default=None, description="Workflow templates folder. Default: the shipped workflows/."
    )

    # --- backends --------------------------------------------------------------------------
    backends: list[str] = Field(
        default_factory=list,
        description="ComfyUI (or engine) server URLs, and/or engine groups as engine://NAME "
        "(`engine serve --gpus`, same data dir). Empty: start the embedded engine in-process.",
    )
    engine_in_process: bool | None = Field(
        default=None,
        description="Start the embedded engine in-process too. Default: only when `backends` "
        "is empty; true adds it next to the URLs, false never starts it.",
    )
    request_timeout_s: float = Field(default=30.0, description="HTTP timeout for backend calls.")
    job_timeout_s: float = Field(default=1800.0, description="Give up on a job after this long.")
    workers: int = Field(
        default=2, ge=1, le=64, description="Service worker threads (jobs followed at once)."
    )
    max_attempts: int = Field(
        default=5, ge=1, description="Sends of one job to backends before it is failed."
    )
    health_interval_s: float = Field(
        default=5.0, gt=0, description="Seconds between backend health checks."
    )
    backend_max_in_flight: int = Field(
        default=2,
        ge=0,
        description="Jobs one backend may have in flight at once (0: no limit); more wait "
        "in the job queue, where any backend can still take them.",
    )
    backend_sticky_slack: int = Field(
        default=1,
        ge=0,
        description="A job goes to the backend that last ran the same checkpoint + LoRAs "
        "unless it has more than this many jobs more than the least-loaded one.",
    )

    # --- caps on one request (the embedded engine's names and defaults: engine.limits) -------
    max_pixels: int = Field(
        default=4096 * 4096 * 4,
        ge=1,
        description="Pixels of one latent/image batch (width x height x batch_size).",
    )
    max_outputs: int = Field(
        default=256, ge=1, description="Images one request may make (count x batch_size)."
    )
    max_prompt_chars: int = Field(
        default=10_000, ge=1, description="Characters of a prompt or negative prompt."
    )
    lease_s: float = Field(
        default=60.0,
        gt=0,
        description="A running job's lease: if its process stops renewing it for this long "
        "(killed, hung), another process may take the job over.",
    )
    heartbeat_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds between lease renewals of the jobs a process follows "
        "(keep well below lease_s).",
    )

    # --- embedded engine ---------------------------------------------------------------------
    engine_host: str = Field(default="127.0.0.1", description="Bind address of `engine serve`.")
    engine_port: int = Field(default=8188, description="Port of `engine serve`.")
    engine_precision: Literal["auto", "fp16", "bf16", "fp32", "fp8"] = Field(
        default="auto",
        description="Model dtype of the embedded engine on a GPU (auto = fp16); a CPU runs fp32. "
        "fp8: bf16 with the UNet's transformer layers in float8 (torchao; compute capability "
        ">= 8.9, refused elsewhere).",
    )
    engine_cuda_graphs: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Replay the eager UNet step as a CUDA graph (auto: on with CUDA and "
        "engine_compile off; 'on' on a CPU is refused).",
    )
    engine_fuse_qkv: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Fuse the UNet's q/k/v projections (auto: off; a fused UNet refuses LoRAs).",
    )
    engine_attention: Literal["auto", "flash", "cudnn", "efficient", "math"] = Field(
        default="auto",
        description="SDPA backend the engine's UNet must use (auto: PyTorch picks).",
    )
    engine_vae_slice: int = Field(
        default=4,
        ge=0,
        description="VAE-decode at most this many images at once (0 = the whole batch); 4 "
        "keeps batch 8 at 1024² within 20 GiB for ~5% more decode time.",
    )
    engine_extra_model_paths: list[Path] = Field(
        default_factory=list,
        description="ComfyUI extra_model_paths.yaml files whose model folders the embedded "
        "engine also searches (ComfyUI's --extra-model-paths-config; base_path, is_default, "
        "one path per line). Env: a JSON list.",
    )
    engine_compile: Literal["off", "default", "reduce-overhead", "max-autotune"] = Field(
        default="off",
        description="torch.compile mode for the embedded engine's UNet + VAE decoder (CUDA "
        "only; ~2x faster on an H200, the first prompt per size/batch compiles for minutes).",
    )
    engine_preview: Literal["none", "latent2rgb"] = Field(
        default="none",
        description="Sampler step previews of the embedded engine: none or latent2rgb.",
    )

    # --- training ------------------------------------------------------------------------------
    sd_scripts: Path | None = Field(
        default=None,
        description="A kohya-ss/sd-scripts checkout: LoRA training runs its "
        "sdxl_train_network.py. Unset: the embedded trainer.",
    )
    sd_scripts_python: Path | None = Field(
        default=None,
        description="The Python with sd-scripts' requirements (accelerate, torch). Default: "
        "venv/bin/python or .venv/bin/python inside the sd_scripts checkout.",
    )
    train_device: str = Field(
        default="auto",
        pattern=r"^(auto|cpu|cuda(:\d+)?)$",
        description="Torch device LoRA training runs on: auto (CUDA when a GPU is seen, "
        "else CPU), cpu, cuda or cuda:N.",
    )

    # --- daemon adapters ---------------------------------------------------------------------
    zmq_router: str = Field(
        default="tcp://127.0.0.1:5555", description="ZeroMQ ROUTER endpoint for requests."
    )
    zmq_pub: str = Field(
        default="tcp://127.0.0.1:5556", description="ZeroMQ PUB endpoint for events."
    )
    tui_graphics: str = Field(
        default="auto",
        description="How `dgx-pixels tui` draws images: auto, kitty, sixel or halfcell.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="If set, `dgx-pixels serve` serves Prometheus metrics at "
        "http://metrics_host:PORT/metrics (0: any free port; 9464 is the usual one).",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Bind address of the daemon's /metrics endpoint."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines on stderr: text, or json (one object per line with time, "
        "level, logger, message, job_id and backend).",
    )

    # --- MCP / Bevy --------------------------------------------------------------------------
    mcp_token: str | None = Field(
        default=None, description="Bearer token required by the MCP HTTP transport, if set."
    )
    mcp_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="If set, `dgx-pixels serve` also serves MCP over streamable HTTP on this "
        "port (0: any free port), with the token rules of `dgx-pixels mcp --http`.",
    )
    mcp_host: str = Field(
        default="127.0.0.1",
        description="Bind address of the daemon's MCP HTTP server; not loopback needs mcp_token.",
    )
    mcp_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names (besides localhost, 127.0.0.1 and [::1]) that MCP HTTP "
        "requests may name in Host/Origin (DNS-rebinding guard); needs mcp_token.",
    )
    bevy_projects: list[Path] = Field(
        default_factory=list,
        description="Registered Bevy project roots; deploys go only into their assets/ folders.",
    )

    log_level: str = Field(default="INFO", description="Logging level for the entry point.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def resolved_output_dir(self) -> Path:
        return self.output_dir or self.data_dir / "outputs"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"


def load_settings(config: Path | None = None) -> Settings:
    """The settings for an entry point, with every problem as a one-line `ConfigError`.

    Args:
        config: The `--config` file. Without it, `DGXP_CONFIG` names the file, else
            `./dgx-pixels.toml` is read when present. A named file must exist.

    Raises:
        ConfigError: the file is missing, unreadable or not TOML, holds an unknown key, or a
            value (from the file or a `DGXP_*` variable) is invalid.
    """
    path, origin = _config_file(config)
    data = _read_config(path, origin)
    _check_keys(path, data)
    try:
        loaded = _with_file_data(data)()
    except SettingsError as exc:  # an env value that is not even parseable (bad JSON list)
        raise ConfigError(_describe_unparsed(exc)) from exc
    except ValidationError as exc:
        raise ConfigError(_describe_invalid(exc, path, data)) from exc
    # A plain `Settings` (the loader's subclass is local, so it would not pickle).
    return Settings.model_construct(_fields_set=loaded.model_fields_set, **dict(loaded))


def _config_file(config: Path | None) -> tuple[Path, str | None]:
    """The file to read and who named it (None: the optional default file)."""
    if config is not None:
        return config, "--config"
    named = os.environ.get(CONFIG_ENV_VAR)
    if named:
        return Path(named), CONFIG_ENV_VAR
    return Path(DEFAULT_CONFIG_FILE), None


def _read_config(path: Path, origin: str | None) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        if origin is None:
            return {}
        raise ConfigError(f"config file {path} (from {origin}) does not exist") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot read it: {exc.strerror}") from exc
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from exc


def _check_keys(path: Path, data: dict[str, Any]) -> None:
    known = list(Settings.model_fields)
    unknown = sorted(set(data) - set(known))
    if not unknown:
        return
    key = unknown[0]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(known)}"
    raise ConfigError(f"config file {path}: unknown key {key!r}; {hint}")


def _with_file_data(data: dict[str, Any]) -> type[Settings]:
    """`Settings` reading `data` (the parsed file) below constructor values and env vars."""

    class _WithFile(Settings):
        model_config = SettingsConfigDict(toml_file=None)  # `data` replaces the TOML source

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, InitSettingsSource(settings_cls, data))

    return _WithFile


def _env_value(field: str) -> tuple[str, str] | None:
    """The `DGXP_*` variable that set `field`, and its value (names are case-insensitive)."""
    wanted = f"DGXP_{field}".upper()
    for name, value in os.environ.items():
        if name.upper() == wanted:
            return name, value
    return None


def _describe_invalid(exc: ValidationError, path: Path, data: dict[str, Any]) -> str:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "?"
    reason = error["msg"]
    env = _env_value(field)
    if env is not None:  # the environment wins over the file, so it is the culprit
        return f"environment variable {env[0]}={env[1]!r}: {reason}"
    if field in data:
        return f"config file {path}: key {field!r} = {data[field]!r}: {reason}"
    return f"setting {field!r}: {reason}"


def _describe_unparsed(exc: SettingsError) -> str:
    match = re.search(r'field "(\w+)"', str(exc))
    env = _env_value(match.group(1)) if match else None
    if env is None:
        return f"settings: {exc}"
    return (
        f'environment variable {env[0]}={env[1]!r}: not valid JSON (write a list as \'["a", "b"]\')'
    )
