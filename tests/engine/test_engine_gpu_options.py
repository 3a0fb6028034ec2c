"""The GPU options' plumbing on a CPU box: Settings → EngineConfig → EngineContext extras,
`engine serve --precision/--compile/--preview`, compile refused on a CPU with a message that
says what to set, and latent2rgb previews reaching `/ws` clients."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_client import WsClient, run_graph
from pydantic import ValidationError
from test_sdxl_end_to_end import sdxl_graph
from typer.testing import CliRunner

from engine.errors import EngineError
from engine.runner import EngineConfig, start_engine
from orchestrator.adapters.cli.app import app
from orchestrator.composition import start_in_process_engine
from orchestrator.errors import BackendError
from orchestrator.settings import Settings


def test_settings_read_the_engine_options_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DGXP_ENGINE_COMPILE", "reduce-overhead")
    monkeypatch.setenv("DGXP_ENGINE_PRECISION", "bf16")
    monkeypatch.setenv("DGXP_ENGINE_PREVIEW", "latent2rgb")
    settings = Settings()
    assert (settings.engine_compile, settings.engine_precision, settings.engine_preview) == (
        "reduce-overhead",
        "bf16",
        "latent2rgb",
    )
    assert (Settings.model_fields["engine_compile"].description or "").startswith("torch.compile")


def test_an_unknown_compile_setting_is_refused_naming_the_valid_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DGXP_ENGINE_COMPILE", "turbo")
    with pytest.raises(ValidationError, match="'off', 'default', 'reduce-overhead'"):
        Settings()


def test_in_process_engine_gets_the_settings_precision_and_preview(
    tmp_path: Path, engine_models_dir: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        models_dir=engine_models_dir,
        engine_precision="bf16",
        engine_preview="latent2rgb",
    )
    engine = start_in_process_engine(settings)
    try:
        context = engine.context  # type: ignore[attr-defined]
        assert context.extras == {
            "precision": "bf16",
            "compile": "off",
            "preview_method": "latent2rgb",
        }
        assert context.models.choice.device.type == "cpu"
        assert context.models.compile_mode == "off"
    finally:
        engine.stop()


def test_in_process_engine_refuses_compile_on_cpu(tmp_path: Path, engine_models_dir: Path) -> None:
    settings = Settings(data_dir=tmp_path, models_dir=engine_models_dir, engine_compile="default")
    with pytest.raises(BackendError, match="compile='default' needs a CUDA GPU") as info:
        start_in_process_engine(settings)
    assert "DGXP_ENGINE_COMPILE=off" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        ("precision", "fp4", "valid: auto, fp16, bf16, fp32, fp8"),
        ("preview_method", "taesd", "valid: none, latent2rgb"),
        ("compile", "turbo", "valid: off, default, reduce-overhead, max-autotune"),
    ],
)
def test_unknown_engine_option_is_refused_at_start_naming_the_valid_values(
    tmp_path: Path, field: str, value: str, valid: str
) -> None:
    config = EngineConfig(base_dir=tmp_path, port=0, device="cpu", **{field: value})  # type: ignore[arg-type]
    with pytest.raises(EngineError, match=valid):
        start_engine(config)
    assert list(tmp_path.iterdir()) == []  # refused before any folder was created


def test_engine_serve_help_teaches_the_gpu_options() -> None:
    result = CliRunner().invoke(app, ["engine", "serve", "--help"])
    assert result.exit_code == 0
    for option in ("--precision", "--compile", "--compile-mode", "--preview"):
        assert option in result.output


def test_engine_serve_with_compile_on_cpu_exits_with_the_reason(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["engine", "serve", "--cpu", "--port", "0", "--compile"],
        env={"DGXP_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 1
    assert "needs a CUDA GPU" in result.output


def test_engine_serve_rejects_an_unknown_precision(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["engine", "serve", "--precision", "fp4"], env={"DGXP_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert "fp4" in result.output


@pytest.mark.parametrize(("method", "frames"), [("latent2rgb", 2), ("none", 0)])
def test_preview_method_decides_whether_sampler_steps_send_preview_frames(
    tmp_path: Path, engine_models_dir: Path, method: str, frames: int
) -> None:
    config = EngineConfig(
        base_dir=tmp_path / "engine",
        models_dir=engine_models_dir,
        port=0,
        device="cpu",
        preview_method=method,  # type: ignore[arg-type]
    )
    with start_engine(config) as engine:
        ws = WsClient(engine.url)
        try:
            _, _, entry = run_graph(ws, sdxl_graph(pixelize=False, prefix=f"preview/{method}"))
        finally:
            ws.close()
    assert entry["status"]["status_str"] == "success"
    assert len(ws.frames) == frames  # one per KSampler step (2 steps)


def test_engine_serve_compile_mode_names_the_mode_in_the_refusal(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["engine", "serve", "--cpu", "--port", "0", "--compile-mode", "max-autotune"],
        env={"DGXP_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 1
    assert "compile='max-autotune' needs a CUDA GPU" in " ".join(result.output.split())
