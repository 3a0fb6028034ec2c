"""Start-up warm-up (`engine serve --warmup`) and the persistent compile-cache folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.context import EngineContext
from engine.errors import WarmupRefused
from engine.limits import EngineLimits
from engine.models.compile_cache import prepare_compile_cache
from engine.runner import EngineConfig, RunningEngine, start_engine
from engine.warmup import (
    WarmupShape,
    check_fits,
    estimate_bytes,
    parse_warmup_shapes,
    plan_warmup,
)
from orchestrator.adapters.cli.app import app

GIB = 2**30


def test_shapes_parse_with_an_optional_batch_and_repeats_dropped() -> None:
    shapes = parse_warmup_shapes(" 1024x1024, 768X1344x4,1024x1024")
    assert shapes == (WarmupShape(1024, 1024), WarmupShape(768, 1344, 4))
    assert [str(s) for s in shapes] == ["1024x1024", "768x1344x4"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("1024", "'1024'"),
        ("1024x1024,big", "'big'"),
        ("1000x7", "'1000x7'"),
        ("8x8", "'8x8'"),
        ("1024x1024x0", "'1024x1024x0'"),
        (" , ", "' , '"),
    ],
)
def test_bad_shape_is_refused_naming_it(text: str, named: str) -> None:
    with pytest.raises(WarmupRefused, match=named):
        parse_warmup_shapes(text)


def test_shape_over_the_pixel_cap_is_refused_naming_it() -> None:
    limits = EngineLimits(max_pixels=1024 * 1024 * 2)
    assert parse_warmup_shapes("1024x1024x2", limits)
    with pytest.raises(WarmupRefused, match=r"'1024x1024x4'.*max_pixels"):
        parse_warmup_shapes("512x512,1024x1024x4", limits)


def test_shape_that_does_not_fit_free_memory_is_refused_naming_it() -> None:
    small, big = WarmupShape(1024, 1024), WarmupShape(1024, 1024, 8)
    weights = 7 * GIB
    check_fits([small], 12 * GIB, weights)  # 7 + 2 GiB fit in 12
    with pytest.raises(WarmupRefused, match=r"1024x1024x8 does not fit.*23\.0 GiB.*12\.0 GiB"):
        check_fits([small, big], 12 * GIB, weights)
    assert estimate_bytes(big) == 8 * estimate_bytes(small)


def test_plan_refuses_a_shape_too_big_for_the_gpu_before_loading_anything(
    tmp_path: Path, engine_models_dir: Path
) -> None:
    config = EngineConfig(base_dir=tmp_path, models_dir=engine_models_dir, device="cpu")
    context = EngineContext(paths=config.paths(), device="cpu")
    with pytest.raises(WarmupRefused, match="2048x2048x4 does not fit"):
        plan_warmup(context, parse_warmup_shapes("512x512,2048x2048x4"), None, lambda: 10 * GIB)
    plan = plan_warmup(context, parse_warmup_shapes("512x512"), None, lambda: 10 * GIB)
    assert plan.checkpoint == "tiny_sdxl.safetensors"


def test_several_checkpoints_need_one_named(tmp_path: Path, engine_models_dir: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(engine_models_dir, models)
    shutil.copy(
        models / "checkpoints" / "tiny_sdxl.safetensors", models / "checkpoints" / "b.safetensors"
    )
    config = EngineConfig(base_dir=tmp_path, models_dir=models, device="cpu", warmup="64x64")
    with pytest.raises(WarmupRefused, match="--warmup-checkpoint NAME"):
        RunningEngine(config)
    unknown = EngineConfig(
        base_dir=tmp_path, models_dir=models, device="cpu", warmup="64x64", warmup_checkpoint="c"
    )
    with pytest.raises(
        WarmupRefused, match=r"'c' is not in models/checkpoints; valid: b\.safetensors"
    ):
        RunningEngine(unknown)
    assert not (tmp_path / "output").exists()  # refused before any folder was made


def test_cpu_warmup_loads_the_checkpoint_before_the_server_listens(
    tmp_path: Path, engine_models_dir: Path
) -> None:
    config = EngineConfig(
        base_dir=tmp_path, models_dir=engine_models_dir, port=0, device="cpu", warmup="64x64"
    )
    calls: list[tuple[int, int, str]] = []
    with start_engine(
        config, lambda done, total, what: calls.append((done, total, what))
    ) as engine:
        assert calls == [(0, 1, "tiny_sdxl.safetensors at 64x64"), (1, 1, "done")]
        loaded = engine.context.models.loaded()
        assert [Path(p).name for p in loaded] == ["tiny_sdxl.safetensors"]
        assert engine.compile_cache is None  # compile off: torch's caches are left alone


def test_compile_cache_goes_under_the_given_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "TORCHINDUCTOR_FX_GRAPH_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")  # restored after the test
    cache = prepare_compile_cache(tmp_path / "compile-cache")
    assert cache.inductor == tmp_path / "compile-cache" / "inductor"
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(cache.inductor)
    assert os.environ["TRITON_CACHE_DIR"] == str(tmp_path / "compile-cache" / "triton")
    assert os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] == "1"
    assert cache.inductor.is_dir() and cache.triton.is_dir()
    assert not cache.mega_cache_loaded


def test_compile_cache_folder_the_user_set_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.delenv("TRITON_CACHE_DIR", raising=False)
    monkeypatch.setenv("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    monkeypatch.setenv("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")
    cache = prepare_compile_cache(tmp_path / "engine" / "compile-cache")
    assert cache.inductor == tmp_path / "mine"
    assert cache.triton == tmp_path / "engine" / "compile-cache" / "triton"


def test_engine_serve_refuses_a_bad_warmup_shape_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "engine",
            "serve",
            "--cpu",
            "--port",
            "0",
            "--models",
            str(tmp_path / "m"),
            "--warmup",
            "1000x7",
        ],
        env={"DGXP_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.exit_code == 1
    assert "--warmup shape '1000x7'" in result.output


_COMPILE_ONCE = """
import os, sys
from pathlib import Path
from engine.models.compile_cache import prepare_compile_cache, save_mega_cache
cache = prepare_compile_cache(Path(sys.argv[1]))
import torch
from torch._dynamo.utils import counters
torch.compile(lambda x: (x.sin() * 2 + 1).relu())(torch.randn(16, 16))
save_mega_cache(cache)
print(cache.mega_cache_loaded, counters["inductor"]["fxgraph_cache_hit"])
"""


@pytest.mark.slow
def test_a_second_process_compiles_from_the_persistent_cache(tmp_path: Path) -> None:
    """Inductor on the CPU (a C++ compiler, about a minute here): the first process fills
    the cache folder and writes the mega-cache; the second loads it and hits the FX graph
    cache instead of compiling."""
    import subprocess
    import sys

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")
    }
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    runs = [
        subprocess.run(
            [sys.executable, "-c", _COMPILE_ONCE, str(tmp_path / "cc")],
            env=env, capture_output=True, text=True, timeout=600, check=True,
        ).stdout.split()[-2:]
        for _ in range(2)
    ]  # fmt: skip
    assert runs[0] == ["False", "0"]
    assert runs[1][0] == "True" and int(runs[1][1]) >= 1
    assert (tmp_path / "cc" / "mega-cache.bin").is_file()
    assert any((tmp_path / "cc" / "inductor").iterdir())
