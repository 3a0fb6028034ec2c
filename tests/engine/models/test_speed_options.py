"""The GPU speed levers on a CPU box: one precision vocabulary everywhere, fp8 and GPU-only
levers refused with the reason (never silently ignored), a failing torch.compile falling back
to eager with ONE warning and a counted metric, VAE slicing giving the same picture, and a
LoRA refused on a UNet whose weights it can no longer patch."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, get_args

import pytest
import torch
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from engine.context import EngineContext, EnginePaths, bind_engine_context
from engine.errors import EngineError, ModelLoadError
from engine.models.cache import ModelCache
from engine.models.compile import CompiledWithFallback, _compiled
from engine.models.device import select_device
from engine.models.precision import PRECISIONS
from engine.models.sdxl import SDXLVae
from engine.models.speed import GRAPH_MAX_BATCH, CudaGraphForward, SpeedOptions, resolve_speed
from engine.runner import EngineConfig, PrecisionRequest, start_engine
from engine.server.metrics import EngineMetrics
from orchestrator.adapters.cli.app import app
from orchestrator.adapters.cli.engine_cmd import Precision as CliPrecision
from orchestrator.settings import Settings


def test_every_copy_of_the_precision_names_is_the_engines_one() -> None:
    settings_names = get_args(Settings.model_fields["engine_precision"].annotation)
    assert PRECISIONS == ("auto", "fp16", "bf16", "fp32", "fp8")
    assert get_args(PrecisionRequest) == PRECISIONS
    assert settings_names == PRECISIONS
    assert tuple(p.value for p in CliPrecision) == PRECISIONS


def test_fp8_on_a_cpu_is_refused_naming_the_precision_and_what_to_use() -> None:
    with pytest.raises(ValueError, match=r"precision='fp8' needs a CUDA GPU .* on 'cpu'") as info:
        select_device("cpu", "fp8")
    assert "use precision 'auto'" in str(info.value)


def test_engine_with_fp8_on_a_cpu_refuses_to_start_and_creates_nothing(tmp_path: Path) -> None:
    config = EngineConfig(base_dir=tmp_path, port=0, device="cpu", precision="fp8")
    with pytest.raises(EngineError, match="precision='fp8' needs a CUDA GPU"):
        start_engine(config)
    assert list(tmp_path.iterdir()) == []


def test_engine_serve_with_fp8_on_a_cpu_exits_with_the_reason(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["engine", "serve", "--cpu", "--port", "0", "--precision", "fp8"],
        env={"DGXP_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 1
    assert "precision='fp8' needs a CUDA GPU" in result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (SpeedOptions(cuda_graphs="always"), "unknown cuda_graphs='always'; valid: auto, on, off"),
        (SpeedOptions(fuse_qkv="yes"), "unknown fuse_qkv='yes'; valid: auto, on, off"),
        (SpeedOptions(attention="sage"), "unknown attention='sage'; valid: auto, flash, cudnn"),
        (SpeedOptions(vae_slice=-1), "vae_slice=-1 is negative"),
        (SpeedOptions(vae_slice=True), "vae_slice=True is not a whole number"),
        (SpeedOptions(cuda_graphs="on"), "cuda_graphs='on' needs a CUDA GPU"),
        (SpeedOptions(fuse_qkv="on"), "fuse_qkv='on' needs a CUDA GPU"),
        (SpeedOptions(attention="flash"), "attention='flash' needs a CUDA GPU"),
    ],
)
def test_a_lever_the_cpu_cannot_honour_is_refused(options: SpeedOptions, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_speed(options, "cpu")


def test_cuda_graphs_on_with_torch_compile_names_the_compile_mode_to_use() -> None:
    with pytest.raises(ValueError, match="use compile 'reduce-overhead'"):
        resolve_speed(SpeedOptions(cuda_graphs="on"), "cuda", "default")


def test_auto_levers_resolve_to_what_the_device_can_run() -> None:
    cpu = resolve_speed(SpeedOptions(attention="math", vae_slice=2), "cpu")
    assert (cpu.cuda_graphs, cpu.fuse_qkv, cpu.attention, cpu.vae_slice) == (
        False,
        False,
        "math",
        2,
    )
    gpu = resolve_speed(SpeedOptions(), "cuda")
    assert gpu.cuda_graphs and not gpu.fuse_qkv
    assert not resolve_speed(SpeedOptions(), "cuda", "reduce-overhead").cuda_graphs


def test_engine_start_refuses_a_gpu_lever_on_a_cpu(tmp_path: Path) -> None:
    config = EngineConfig(base_dir=tmp_path, port=0, device="cpu", cuda_graphs="on")
    with pytest.raises(EngineError, match="cuda_graphs='on' needs a CUDA GPU"):
        start_engine(config)


def test_settings_read_the_speed_levers_and_refuse_unknown_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DGXP_ENGINE_CUDA_GRAPHS", "off")
    monkeypatch.setenv("DGXP_ENGINE_ATTENTION", "cudnn")
    monkeypatch.setenv("DGXP_ENGINE_VAE_SLICE", "4")
    settings = Settings()
    assert (settings.engine_cuda_graphs, settings.engine_attention) == ("off", "cudnn")
    assert settings.engine_vae_slice == 4
    monkeypatch.setenv("DGXP_ENGINE_FUSE_QKV", "maybe")
    with pytest.raises(ValueError, match="engine_fuse_qkv"):
        Settings()


def _failing_backend(gm: Any, example_inputs: Any) -> Any:
    raise RuntimeError("inductor is broken on this box")


def test_a_failing_compile_runs_eagerly_with_one_warning_and_a_counted_metric(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import torch._dynamo

    torch._dynamo.reset()
    net = torch.nn.Linear(4, 3)
    wrapped = _compiled(net.forward, "default", _failing_backend, "unet")
    assert isinstance(wrapped, CompiledWithFallback)
    metrics = EngineMetrics(CollectorRegistry(), lambda: 0)
    ctx = EngineContext(EnginePaths(tmp_path, tmp_path, tmp_path, tmp_path), observer=metrics)
    x = torch.randn(2, 4)
    with bind_engine_context(ctx), caplog.at_level(logging.WARNING):
        first, second = wrapped(x), wrapped(x)
    torch.testing.assert_close(first, net(x))
    torch.testing.assert_close(second, net(x))
    warnings = [r.message for r in caplog.records if "running it eagerly" in r.message]
    assert len(warnings) == 1 and "inductor is broken on this box" in warnings[0]
    assert wrapped.failed is not None and "inductor is broken" in wrapped.failed
    fallbacks = metrics.registry.get_sample_value(
        "dgxp_engine_compile_fallbacks_total", {"part": "unet"}
    )
    assert fallbacks == 1.0


def test_a_working_compile_marks_the_batch_dynamic_and_compiles_once(
    tiny_sdxl_checkpoint: Path,
) -> None:
    import torch._dynamo
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU())
    wrapped = _compiled(net.forward, "default", "eager", "unet")
    before = int(counters["stats"]["unique_graphs"])
    for batch in (2, 5, 16):  # batch 2 and up share one graph
        torch.testing.assert_close(wrapped(torch.ones(batch, 4)), net(torch.ones(batch, 4)))
    assert int(counters["stats"]["unique_graphs"]) - before == 1
    assert wrapped.failed is None


def test_vae_slices_decode_the_same_picture(tiny_sdxl_checkpoint: Path) -> None:
    ckpt = ModelCache("cpu").checkpoint(tiny_sdxl_checkpoint)
    latent = torch.randn(3, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    whole = SDXLVae(ckpt).decode(latent)
    ckpt.vae_slice = 2  # 2 + 1
    torch.testing.assert_close(SDXLVae(ckpt).decode(latent), whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("flag", "lever"), [("fp8", "precision fp8"), ("qkv_fused", "fuse_qkv")])
def test_a_lora_on_a_unet_it_cannot_patch_is_refused_by_name(
    tiny_sdxl_checkpoint: Path, tiny_lora: Path, flag: str, lever: str
) -> None:
    cache = ModelCache("cpu")
    loaded = cache.load(tiny_sdxl_checkpoint)
    setattr(loaded.model.checkpoint, flag, True)
    model, _ = loaded.model.with_lora(cache.lora(tiny_lora), 1.0)
    with pytest.raises(ModelLoadError, match=f"loaded with {lever}") as info, model.patched():
        pass
    assert tiny_lora.name in str(info.value)
    with loaded.model.patched():  # no LoRA: the same UNet runs
        pass


def test_a_batch_over_the_graph_limit_runs_eagerly_without_touching_cuda() -> None:
    net = torch.nn.Linear(4, 2)
    graphed = CudaGraphForward(net.forward, max_batch=4)
    x = torch.randn(GRAPH_MAX_BATCH + 1, 4)
    torch.testing.assert_close(graphed(x), net(x))  # on a CPU: a capture would raise
    assert graphed.captured == 0


def test_engine_serve_flags_name_the_engines_lever_values() -> None:
    from engine.models.speed import ATTENTION_BACKENDS, TOGGLES
    from orchestrator.adapters.cli.engine_cmd import Attention, Toggle

    assert tuple(t.value for t in Toggle) == TOGGLES
    assert tuple(a.value for a in Attention) == ATTENTION_BACKENDS
    result = CliRunner().invoke(app, ["engine", "serve", "--help"])
    for flag in ("--cuda-graphs", "--fuse-qkv", "--attention", "--vae-slice"):
        assert flag in result.output


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--cuda-graphs", "on"], 1, "cuda_graphs='on' needs a CUDA GPU"),
        (["--attention", "flash"], 1, "attention='flash' needs a CUDA GPU"),
        (["--vae-slice", "-1"], 2, "--vae-slice"),
        (["--attention", "sage"], 2, "sage"),
    ],
)
def test_engine_serve_refuses_a_lever_the_cpu_cannot_run(
    tmp_path: Path, args: list[str], code: int, says: str
) -> None:
    result = CliRunner().invoke(
        app,
        ["engine", "serve", "--cpu", "--port", "0", *args],
        env={"DGXP_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == code
    assert says in result.output
