"""ComfyUI's extra_model_paths.yaml: read as ComfyUI reads it, consulted by the loaders and
/object_info, and a malformed file refused naming the file, section and key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from engine.context import EngineContext, EnginePaths, bind_engine_context
from engine.errors import EngineError, ExtraModelPathsError
from engine.extra_model_paths import ExtraModelPaths, load_extra_model_paths
from engine.models.cache import ModelCache
from engine.nodes.sdxl import NODE_CLASS_MAPPINGS
from engine.runner import EngineConfig, start_engine
from orchestrator.adapters.cli.app import app

NODE_PACKS = Path(__file__).parent / "node_packs"
A1111_STYLE = """\
a1111:
    base_path: ../webui/

    checkpoints: models/Stable-diffusion
    loras: |
         models/Lora
         models/LyCORIS
    unet: models/unet
shared:
    is_default: true
    checkpoints: first/ckpts
    loras: /abs/loras
empty_section:
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_sections_resolve_like_comfyui(tmp_path: Path) -> None:
    yaml_file = _write(tmp_path / "cfg" / "extra_model_paths.yaml", A1111_STYLE)
    extra = load_extra_model_paths([yaml_file])
    webui, cfg = tmp_path / "webui", tmp_path / "cfg"
    got = [(e.folder, e.path, e.is_default) for e in extra.entries]
    assert got == [
        ("checkpoints", webui / "models" / "Stable-diffusion", False),
        ("loras", webui / "models" / "Lora", False),
        ("loras", webui / "models" / "LyCORIS", False),
        ("diffusion_models", webui / "models" / "unet", False),  # ComfyUI's legacy name
        ("checkpoints", cfg / "first" / "ckpts", True),  # no base_path: the yaml's folder
        ("loras", Path("/abs/loras"), True),
    ]
    assert extra.folders == ("checkpoints", "loras", "diffusion_models")


def test_is_default_goes_first_and_the_rest_after_the_engines_own(tmp_path: Path) -> None:
    yaml_file = _write(tmp_path / "extra_model_paths.yaml", A1111_STYLE)
    paths = EnginePaths(
        models=tmp_path / "models",
        input=tmp_path / "in",
        output=tmp_path / "out",
        temp=tmp_path / "tmp",
        extra_model_paths=load_extra_model_paths([yaml_file]),
    )
    assert paths.checkpoint_dirs == (
        tmp_path / "first" / "ckpts",
        tmp_path / "models" / "checkpoints",
        tmp_path.parent / "webui" / "models" / "Stable-diffusion",
    )
    assert paths.lora_dirs[:3] == (
        Path("/abs/loras"),
        tmp_path / "models" / "loras",
        tmp_path / "out" / "loras",
    )
    assert paths.folder_dirs("vae") == (tmp_path / "models" / "vae",)


def test_a_repeated_default_path_moves_to_the_front_once(tmp_path: Path) -> None:
    own = (tmp_path / "own",)
    first = _write(tmp_path / "a.yaml", f"x:\n  checkpoints: {tmp_path}/shared\n")
    second = _write(
        tmp_path / "b.yaml", f"y:\n  is_default: true\n  checkpoints: {tmp_path}/shared\n"
    )
    appended = load_extra_model_paths([first])
    assert appended.arrange("checkpoints", own) == (tmp_path / "own", tmp_path / "shared")
    both = load_extra_model_paths([first, second])
    assert both.arrange("checkpoints", own) == (tmp_path / "shared", tmp_path / "own")


def test_an_empty_file_adds_nothing(tmp_path: Path) -> None:
    assert load_extra_model_paths([_write(tmp_path / "e.yaml", "")]) == ExtraModelPaths()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("a:\n  checkpoints: [x, y]\n", "section 'a', key 'checkpoints': expected a path"),
        ("a:\n  loras: 3\n", "section 'a', key 'loras': expected a path"),
        ("a:\n  is_default: yes please\n  loras: x\n", "key 'is_default': expected true or"),
        ("a:\n  base_path: 7\n  loras: x\n", "section 'a', key 'base_path': expected a folder"),
        ("a: [checkpoints, x]\n", "section 'a': expected a mapping of folder names"),
        ("- a\n- b\n", "expected sections (name: mapping"),
        ("a:\n  loras: x\n   bad: [\n", "not valid YAML"),
    ],
)
def test_a_malformed_file_is_refused_naming_file_section_and_key(
    tmp_path: Path, text: str, named: str
) -> None:
    yaml_file = _write(tmp_path / "bad.yaml", text)
    with pytest.raises(ExtraModelPathsError) as info:
        load_extra_model_paths([yaml_file])
    assert str(yaml_file) in str(info.value)
    assert named in str(info.value)


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ExtraModelPathsError, match=r"nope\.yaml' cannot be read"):
        load_extra_model_paths([tmp_path / "nope.yaml"])


def test_the_engine_refuses_to_start_on_a_malformed_file(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.yaml", "a:\n  checkpoints: [x]\n")
    config = EngineConfig(
        base_dir=tmp_path / "engine",
        port=0,
        device="cpu",
        load_comfy_nodes=False,
        extra_model_paths_configs=(bad,),
    )
    with pytest.raises(EngineError, match=r"bad\.yaml: section 'a', key 'checkpoints'"):
        start_engine(config)


def test_object_info_and_the_loader_see_the_extra_folders(
    tmp_path: Path, tiny_sdxl_checkpoint: Path
) -> None:
    shared = tmp_path / "shared"
    shutil.copy(tiny_sdxl_checkpoint, _mkdir(shared / "ckpt") / "from_yaml.safetensors")
    (_mkdir(shared / "lora" / "styles") / "style.safetensors").write_bytes(b"")
    (_mkdir(tmp_path / "engine") / "extra_model_paths.yaml").write_text(
        "beside_base:\n  vae: ../shared/vae\n  hypernetworks: ../shared/hn\n"
    )
    _write(
        tmp_path / "conf" / "extra.yaml",
        "mine:\n  base_path: ../shared\n  checkpoints: ckpt\n  loras: |\n    lora\n"
        f"  custom_nodes: {NODE_PACKS}\n",  # absolute: base_path does not apply
    )
    config = EngineConfig(
        base_dir=tmp_path / "engine",
        port=0,
        device="cpu",
        extra_model_paths_configs=(tmp_path / "conf" / "extra.yaml",),
    )
    with start_engine(config) as engine:
        info = requests.get(f"{engine.url}/object_info", timeout=30).json()
        ckpts = info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
        loras = info["LoraLoader"]["input"]["required"]["lora_name"][0]
        assert "from_yaml.safetensors" in ckpts
        assert "styles/style.safetensors" in loras
        assert "DGXPTest_SolidImage" in info  # a node pack from the yaml's custom_nodes
        listed = requests.get(f"{engine.url}/models/checkpoints", timeout=30).json()
        assert "from_yaml.safetensors" in listed
        folders = requests.get(f"{engine.url}/models", timeout=30).json()
        assert "hypernetworks" in folders  # a folder only the yaml beside base_dir names
        paths = config.paths()
        assert paths.folder_dirs("vae")[-1] == tmp_path / "shared" / "vae"
    with bind_engine_context(_context(paths)):
        model, _, _ = NODE_CLASS_MAPPINGS["CheckpointLoaderSimple"]().load_checkpoint(
            "from_yaml.safetensors"
        )
    assert model.checkpoint.path == shared / "ckpt" / "from_yaml.safetensors"


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _context(paths: EnginePaths) -> EngineContext:

    return EngineContext(paths=paths, models=ModelCache(device="cpu"))


@pytest.mark.parametrize("via", ["flag", "setting"])
def test_engine_serve_refuses_a_malformed_file_naming_it(tmp_path: Path, via: str) -> None:
    bad = _write(tmp_path / "extra_model_paths.yaml", "comfyui:\n  loras:\n    - a\n")
    flag = ["--extra-model-paths-config", str(bad)] if via == "flag" else []
    env = {"DGXP_DATA_DIR": str(tmp_path / "data")}
    if via == "setting":
        env["DGXP_ENGINE_EXTRA_MODEL_PATHS"] = json.dumps([str(bad)])
    result = CliRunner().invoke(
        app, ["engine", "serve", "--cpu", "--port", "0", *flag], env=env, catch_exceptions=False
    )
    assert result.exit_code != 0
    flat = "".join(result.output.split())  # whatever the terminal width wrapped
    assert "section'comfyui',key'loras':expectedapath" in flat
    assert "".join(str(bad).split()) in flat
