"""`dgx-pixels models demo`: a clearly named, loadable, marked random-weight checkpoint."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from engine.demo_model import DEMO_FILENAME, STAGES, write_demo_checkpoint
from engine.models.checkpoint import DEMO_METADATA_KEY, load_checkpoint, read_header
from engine.models.sdxl import SDXLModel
from engine.nodes.sdxl.samplers import common_ksampler
from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.ksampler import SampleRequest


def test_demo_file_is_named_marked_and_loads_as_sdxl(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stages: list[str] = []
    result = write_demo_checkpoint(tmp_path / "models", on_stage=stages.append)
    assert result.written and result.path == tmp_path / "models" / "checkpoints" / DEMO_FILENAME
    assert stages == list(STAGES)
    assert read_header(result.path)[1][DEMO_METADATA_KEY] == "true"
    ckpt = load_checkpoint(result.path)
    assert ckpt.is_demo and ckpt.architecture.unet.transformer_depth[:2] == (0, 0)
    model = SDXLModel(ckpt, DiscreteSchedule())
    cond = [[torch.zeros(1, 77, 64), {"pooled_output": torch.zeros(1, 32)}]]
    request = SampleRequest(steps=1, cfg=1.0, sampler_name="euler", scheduler="normal", seed=0)
    with caplog.at_level(logging.WARNING):
        common_ksampler(model, {"samples": torch.zeros(1, 4, 4, 4)}, cond, cond, request)
    assert "pictures are meaningless" in caplog.text


def test_existing_demo_is_kept_unless_forced(tmp_path: Path) -> None:
    first = write_demo_checkpoint(tmp_path)
    assert not write_demo_checkpoint(tmp_path).written
    assert write_demo_checkpoint(tmp_path, overwrite=True).written
    assert [p.name for p in first.path.parent.iterdir()] == [first.path.name]  # no temp left


def test_cli_demo_writes_into_the_settings_models_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.adapters.cli.app import app

    monkeypatch.setenv("DGXP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DGXP_MODELS_DIR", raising=False)
    result = CliRunner().invoke(app, ["models", "demo"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "models" / "checkpoints" / DEMO_FILENAME).is_file()
    assert "meaningless" in result.output
