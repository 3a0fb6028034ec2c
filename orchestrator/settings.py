"""The one settings class, loaded once at the entry point and passed down.

Values come from (highest first) constructor arguments, `DGXP_*` environment variables and an
optional `dgx-pixels.toml` in the working directory (or the file named by `DGXP_CONFIG`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings", "default_data_dir"]


def default_data_dir() -> Path:
    """Where jobs, outputs and models live unless told otherwise (XDG data home)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dgx-pixels"


class Settings(BaseSettings):
    """Every knob of DGX-Pixels. Each adapter reads only the fields it needs."""

    model_config = SettingsConfigDict(
        env_prefix="DGXP_",
        env_nested_delimiter="__",
        toml_file=os.environ.get("DGXP_CONFIG", "dgx-pixels.toml"),
        extra="ignore",
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
        description="ComfyUI (or engine) server URLs. Empty: start the embedded engine in-process.",
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

    # --- embedded engine ---------------------------------------------------------------------
    engine_host: str = Field(default="127.0.0.1", description="Bind address of `engine serve`.")
    engine_port: int = Field(default=8188, description="Port of `engine serve`.")
    engine_precision: Literal["auto", "fp16", "bf16", "fp32"] = Field(
        default="auto",
        description="Model dtype of the embedded engine on a GPU (auto = fp16); a CPU runs fp32.",
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
    metrics_port: int = Field(default=9464, description="Prometheus /metrics port of the daemon.")

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
