"""`dgx-pixels engine …`: run the embedded ComfyUI-compatible engine as a server.

Any ComfyUI client (our orchestrator, the ComfyUI web editor's API calls, scripts written
for ComfyUI) can then talk to it at the printed URL. Heavy imports happen inside the command.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import choices_metavar, fail, note, warn

__all__ = ["app", "serve_command"]


class Precision(StrEnum):
    """`--precision` choices (engine.runner.EngineConfig.precision)."""

    AUTO = "auto"
    FP16 = "fp16"
    BF16 = "bf16"
    FP32 = "fp32"
    FP8 = "fp8"


class CompileMode(StrEnum):
    """`--compile-mode` choices (engine.runner.EngineConfig.compile)."""

    OFF = "off"
    DEFAULT = "default"
    REDUCE_OVERHEAD = "reduce-overhead"
    MAX_AUTOTUNE = "max-autotune"


class PreviewMethod(StrEnum):
    """`--preview` choices (engine.runner.EngineConfig.preview_method)."""

    NONE = "none"
    LATENT2RGB = "latent2rgb"


class Toggle(StrEnum):
    """`--cuda-graphs` / `--fuse-qkv` choices (engine.models.speed.TOGGLES)."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


class Attention(StrEnum):
    """`--attention` choices (engine.models.speed.ATTENTION_BACKENDS)."""

    AUTO = "auto"
    FLASH = "flash"
    CUDNN = "cudnn"
    EFFICIENT = "efficient"
    MATH = "math"


app = typer.Typer(
    help=(
        "The embedded engine: runs ComfyUI API-format workflows on diffusers and serves "
        "ComfyUI's HTTP/WebSocket API (`engine serve`)."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            metavar="HOST",
            help="Bind address. Default: settings engine_host (127.0.0.1; no auth!).",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT", help="TCP port (0 = any free port). Default: settings engine_port."
        ),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option(
            "--models", metavar="DIR", help="models/ folder with checkpoints/ and loras/."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", metavar="DIR", help="Where SaveImage writes.")
    ] = None,
    input_dir: Annotated[
        Path | None,
        typer.Option("--input", metavar="DIR", help="Where LoadImage reads and uploads go."),
    ] = None,
    custom_nodes: Annotated[
        list[Path] | None,
        typer.Option(
            "--custom-nodes", metavar="DIR", help="Extra custom-node folder (repeatable)."
        ),
    ] = None,
    cpu: Annotated[
        bool, typer.Option("--cpu", help="Run on the CPU even if CUDA is there.")
    ] = False,
    precision: Annotated[
        Precision | None,
        typer.Option(
            metavar=choices_metavar(Precision),
            help="GPU model dtype (auto = fp16; fp8 = bf16 with a float8 UNet, GPUs of compute "
            "capability >= 8.9 only). Default: settings engine_precision.",
        ),
    ] = None,
    compile_flag: Annotated[
        bool,
        typer.Option(
            "--compile",
            help="torch.compile the UNet + VAE decoder (CUDA only, mode 'default'): ~2x faster "
            "on an H200, but the first prompt of each size/batch compiles for minutes. "
            "Default: settings engine_compile (off).",
        ),
    ] = False,
    compile_mode: Annotated[
        CompileMode | None,
        typer.Option(
            "--compile-mode",
            metavar=choices_metavar(CompileMode),
            help="The torch.compile mode (wins over --compile; 'off' overrides the settings).",
        ),
    ] = None,
    preview: Annotated[
        PreviewMethod | None,
        typer.Option(
            metavar=choices_metavar(PreviewMethod),
            help="Sampler step previews. Default: settings engine_preview (none).",
        ),
    ] = None,
    cuda_graphs: Annotated[
        Toggle | None,
        typer.Option(
            metavar=choices_metavar(Toggle),
            help="Replay the eager UNet step as a CUDA graph (auto: on with CUDA and no "
            "compile, for 1-2 images per batch; 'on' on a CPU is refused). Default: "
            "settings engine_cuda_graphs (auto).",
        ),
    ] = None,
    fuse_qkv: Annotated[
        Toggle | None,
        typer.Option(
            metavar=choices_metavar(Toggle),
            help="Fuse the UNet's q/k/v projections (auto = off; a fused UNet refuses "
            "LoRAs). Default: settings engine_fuse_qkv (auto).",
        ),
    ] = None,
    attention: Annotated[
        Attention | None,
        typer.Option(
            metavar=choices_metavar(Attention),
            help="SDPA backend the UNet must use (auto: PyTorch picks; a forced backend that "
            "cannot run fails the prompt, it never falls back). Default: settings "
            "engine_attention (auto).",
        ),
    ] = None,
    vae_slice: Annotated[
        int | None,
        typer.Option(
            min=0,
            metavar="N",
            help="VAE-decode at most N images at once (0 = the whole batch; 4 keeps batch 8 "
            "at 1024² within 20 GiB). Default: settings engine_vae_slice (4).",
        ),
    ] = None,
    max_pixels: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Cap on width x height x batch of one latent or image; a bigger one is "
            "refused at /prompt. E.g. --max-pixels 16777216 (4096x4096). "
            "Default: settings max_pixels (67108864 = 4096x4096x4).",
        ),
    ] = None,
    max_outputs: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Cap on output nodes per prompt, e.g. --max-outputs 64. "
            "Default: settings max_outputs (256).",
        ),
    ] = None,
    max_prompt_chars: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Cap on the characters of one text input, e.g. --max-prompt-chars 2000. "
            "Default: settings max_prompt_chars (10000).",
        ),
    ] = None,
    warmup: Annotated[
        str | None,
        typer.Option(
            metavar="WxH[xB],...",
            help="Before listening, load the checkpoint and run each shape once (with "
            "--compile: compile it; the caches under DATA_DIR/engine/compile-cache make the "
            "next start fast). E.g. --warmup 1024x1024,768x1344x4. A shape that does not fit "
            "the free GPU memory is refused at start.",
        ),
    ] = None,
    warmup_checkpoint: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Checkpoint file to warm (default: the only one in models/checkpoints).",
        ),
    ] = None,
    max_upload_mb: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="MB",
            help="Largest request body (uploads and /prompt JSON); bigger is a 413. "
            "E.g. --max-upload-mb 20. Default: 100.",
        ),
    ] = None,
    extra_model_paths_config: Annotated[
        list[Path] | None,
        typer.Option(
            "--extra-model-paths-config",
            metavar="FILE",
            help="A ComfyUI extra_model_paths.yaml (repeatable; ComfyUI's flag): its "
            "sections' folders are searched for checkpoints, LoRAs etc. and listed in "
            "/object_info. base_path and relative paths count from the file's folder, "
            "is_default: true searches them first. Added after the engine_extra_model_paths "
            "setting's files. A malformed file stops the start, naming the section and key.",
        ),
    ] = None,
    gpus: Annotated[
        str | None,
        typer.Option(
            metavar="all|0,1,…|cpu:N",
            help="Run one engine process per GPU instead of one engine here: 'all', GPU "
            "indexes (0,0 = two engines on GPU 0) or cpu:N. Member i listens on --port + i, "
            "pinned with CUDA_VISIBLE_DEVICES, and is restarted if it dies. The daemon "
            "reaches the group as DGXP_BACKENDS=engine://GROUP (same data dir).",
        ),
    ] = None,
    group: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="With --gpus: the group's name in engine://NAME (members file "
            "DATA_DIR/engine/groups/NAME.json).",
        ),
    ] = "local",
) -> None:
    """Serve the engine until Ctrl-C.

    Folders default to the settings: models from `models_dir` (DATA_DIR/models), outputs
    from `output_dir` (DATA_DIR/outputs), input/ and temp/ under DATA_DIR/engine/. Our
    `comfy_nodes` pack is always loaded; `--custom-nodes DIR` adds ComfyUI-style packs.

    Example: `dgx-pixels engine serve --port 8188 --models ~/models`, then point any
    ComfyUI client at http://127.0.0.1:8188. One engine per GPU: `dgx-pixels engine serve
    --gpus all --port 8188`, then `DGXP_BACKENDS=engine://local dgx-pixels serve`.
    `--max-pixels`, `--max-outputs`,
    `--max-prompt-chars` and `--max-upload-mb` cap what one request may ask for.
    """
    from orchestrator.adapters.cli.warmup_progress import WarmupBar
    from orchestrator.composition import engine_config, serve_engine
    from orchestrator.errors import BackendError

    settings = settings_from(ctx)
    base = settings.data_dir / "engine"
    config = engine_config(
        base_dir=base,
        models_dir=models or settings.resolved_models_dir,
        output_dir=output or settings.resolved_output_dir,
        input_dir=input_dir or base / "input",
        temp_dir=base / "temp",
        host=host or settings.engine_host,
        port=settings.engine_port if port is None else port,
        custom_node_dirs=tuple(custom_nodes or ()),
        device="cpu" if cpu else "auto",
        # The enums' values are exactly the settings' Literal values.
        precision=cast(Any, precision.value if precision else settings.engine_precision),
        compile=cast(Any, _compile_choice(compile_flag, compile_mode, settings.engine_compile)),
        preview_method=cast(Any, preview.value if preview else settings.engine_preview),
        cuda_graphs=cuda_graphs.value if cuda_graphs else settings.engine_cuda_graphs,
        fuse_qkv=fuse_qkv.value if fuse_qkv else settings.engine_fuse_qkv,
        attention=attention.value if attention else settings.engine_attention,
        vae_slice=settings.engine_vae_slice if vae_slice is None else vae_slice,
        extra_model_paths_configs=(
            *settings.engine_extra_model_paths,
            *(extra_model_paths_config or ()),
        ),
        max_pixels=settings.max_pixels if max_pixels is None else max_pixels,
        max_outputs=settings.max_outputs if max_outputs is None else max_outputs,
        max_prompt_chars=(
            settings.max_prompt_chars if max_prompt_chars is None else max_prompt_chars
        ),
        **({} if max_upload_mb is None else {"max_upload_mb": max_upload_mb}),
        warmup=warmup or "",
        warmup_checkpoint=warmup_checkpoint,
    )
    note(f"engine: models {config.models_dir}, outputs {config.output_dir}")
    note(
        f"engine: precision {config.precision}, compile {config.compile}, "
        f"previews {config.preview_method}"
    )
    note(
        f"engine: caps max_pixels {config.max_pixels}, max_outputs {config.max_outputs}, "
        f"max_prompt_chars {config.max_prompt_chars}, max_upload_mb {config.max_upload_mb}"
    )
    if config.compile != "off":
        warn(
            "compile is on: the first prompt of each size/batch compiles for minutes; "
            "later ones are about 2x faster."
        )
    if gpus is not None:
        _serve_group(config, gpus, group, settings.data_dir)
        return
    try:
        with WarmupBar() as bar:
            serve_engine(config, on_warmup=bar)
    except BackendError as exc:
        raise fail(exc) from exc


def _serve_group(config: Any, gpus: str, group: str, data_dir: Path) -> None:
    """`--gpus`: supervise one engine process per slot until SIGTERM or Ctrl-C."""
    import signal
    import threading

    from orchestrator.composition import serve_engine_group
    from orchestrator.errors import BackendError

    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def started(urls: list[str]) -> None:
        # Only a group that is about to start takes the signals: they stop all its members.
        for sig in previous:
            signal.signal(sig, lambda *_: stop.set())
        note(f"engine group engine://{group}: {len(urls)} member(s): {', '.join(urls)}")
        note(f"point the daemon at it: DGXP_BACKENDS=engine://{group} (same DGXP_DATA_DIR)")

    try:
        serve_engine_group(config, gpus, data_dir, group, stop, on_start=started)
    except BackendError as exc:
        raise fail(exc, code=2) from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _compile_choice(flag: bool, mode: CompileMode | None, configured: str) -> str:
    """`--compile-mode` if given, else 'default' for `--compile`, else the settings' value."""
    if mode is not None:
        return mode.value
    return "default" if flag else configured
