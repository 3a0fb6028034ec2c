"""Start the embedded engine: `EngineConfig` -> a served ComfyUI-compatible API.

The orchestrator uses only this module and HTTP. `start_engine` runs the aiohttp server on
its own event loop in a background thread and returns once it listens; `serve_forever` is
the CLI's blocking variant.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, get_args

from engine.context import EngineContext, EnginePaths, bind_engine_context
from engine.errors import EngineError
from engine.extra_model_paths import YAML_NAME, load_extra_model_paths
from engine.limits import DEFAULT_LIMITS, EngineLimits

if TYPE_CHECKING:
    from engine.models.compile_cache import CompileCache
    from engine.warmup import WarmupProgress
from engine.models.precision import Precision

__all__ = ["EngineConfig", "RunningEngine", "serve_forever", "start_engine"]

logger = logging.getLogger(__name__)

DeviceRequest = Literal["auto", "cpu", "cuda"]
PrecisionRequest = Precision  # the one vocabulary: engine.models.precision
CompileRequest = Literal["off", "default", "reduce-overhead", "max-autotune"]
PreviewMethod = Literal["none", "latent2rgb"]
PREVIEW_METHODS: tuple[str, ...] = get_args(PreviewMethod)


@dataclass(frozen=True)
class EngineConfig:
    """How to run one engine.

    Attributes:
        base_dir: ComfyUI-style root holding models/, input/, output/, temp/, custom_nodes/.
        models_dir, input_dir, output_dir, temp_dir: override one folder each.
        host: bind address (loopback by default; the API has no authentication).
        port: TCP port; 0 picks a free one.
        custom_node_dirs: extra folders whose entries are node packs.
        load_comfy_nodes: also load our `comfy_nodes` pack.
        device: "auto" (CUDA when present), "cpu" or "cuda".
        max_upload_mb: the largest request body, uploads and `/prompt` JSON alike
            (larger bodies get 413).
        max_pixels, max_outputs, max_prompt_chars: the caps of `engine.limits.EngineLimits`
            (pixels of one latent/image batch, output nodes per prompt, characters of one
            text input); over a cap, `/prompt` answers 400 naming the node and input.
        precision: model dtype on a GPU: "auto" (fp16), "fp16", "bf16", "fp32", or "fp8"
            (bf16 with the UNet's transformer Linear layers in float8; GPUs of compute
            capability >= 8.9 with torchao only, refused elsewhere); a CPU runs fp32.
        compile: "off", or the torch.compile mode ("default", "reduce-overhead",
            "max-autotune") applied once per loaded checkpoint to the UNet and VAE decoder
            (channels_last). The first prompt of each new size/batch is slow while it
            compiles. CUDA only: asking for it on a CPU is refused when the engine starts.
        preview_method: "none", or "latent2rgb" to send a cheap preview image with each
            sampler step's progress (ComfyUI's `--preview-method latent2rgb`).
        warmup: "WxH[xB],..." shapes run once before the server listens (compiled when
            compile is on); "" for none. A bad shape, one that does not fit the free GPU
            memory, or no single checkpoint to warm is refused at start (`engine.warmup`).
        warmup_checkpoint: the checkpoint file to warm (default: the only one there is).
        compile_cache_dir: where torch.compile's caches persist between starts (default
            `<base_dir>/compile-cache`; `engine.models.compile_cache`). Used when compile is on.
        cuda_graphs, fuse_qkv: "auto", "on" or "off" (`engine.models.speed`): replay the
            eager UNet step as a CUDA graph (auto: on with CUDA and compile off); fuse
            self-attention's q/k/v projections (auto: off; a fused UNet takes no LoRA).
            "on" on a CPU is refused at start.
        attention: SDPA backend of the UNet: "auto", "flash", "cudnn", "efficient", "math".
        vae_slice: decode at most this many latents at once (0 = the whole batch; default 4
            keeps batch 8 at 1024² within 20 GiB).
        extra_model_paths_configs: ComfyUI `extra_model_paths.yaml` files whose folders the
            model loaders and `/object_info` also search (`engine.extra_model_paths`), read
            after `<base_dir>/extra_model_paths.yaml` when that exists (as ComfyUI reads the
            one beside its main.py, then `--extra-model-paths-config`). A missing or
            malformed file is refused at start, naming the file, section and key.
    """

    base_dir: Path | None = None
    models_dir: Path | None = None
    input_dir: Path | None = None
    output_dir: Path | None = None
    temp_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8188
    custom_node_dirs: tuple[Path, ...] = ()
    load_comfy_nodes: bool = True
    device: DeviceRequest = "auto"
    max_upload_mb: int = 100
    precision: PrecisionRequest = "auto"
    compile: CompileRequest = "off"
    preview_method: PreviewMethod = "none"
    warmup: str = ""
    warmup_checkpoint: str | None = None
    compile_cache_dir: Path | None = None
    cuda_graphs: str = "auto"
    fuse_qkv: str = "auto"
    attention: str = "auto"
    vae_slice: int = 4
    max_pixels: int = DEFAULT_LIMITS.max_pixels
    max_outputs: int = DEFAULT_LIMITS.max_outputs
    max_prompt_chars: int = DEFAULT_LIMITS.max_prompt_chars
    extra_model_paths_configs: tuple[Path, ...] = ()

    def limits(self) -> EngineLimits:
        """The caps as one object.

        Raises:
            EngineError: a cap is not a positive whole number.
        """
        return EngineLimits(
            max_pixels=self.max_pixels,
            max_outputs=self.max_outputs,
            max_prompt_chars=self.max_prompt_chars,
        )

    def paths(self) -> EnginePaths:
        """The folder layout; every folder needs `base_dir` or its own override.

        Raises:
            EngineError: a folder is neither given nor derivable from `base_dir`.
            ExtraModelPathsError: an extra_model_paths.yaml is missing or malformed.
        """
        folders: dict[str, Path] = {}
        for name, given in (
            ("models", self.models_dir),
            ("input", self.input_dir),
            ("output", self.output_dir),
            ("temp", self.temp_dir),
        ):
            if given is None and self.base_dir is None:
                raise EngineError(f"EngineConfig needs base_dir or {name}_dir; neither was given")
            folders[name] = Path(given if given is not None else Path(self.base_dir or ".") / name)
        resolved = {k: v.expanduser().resolve() for k, v in folders.items()}
        return EnginePaths(
            models=resolved["models"],
            input=resolved["input"],
            output=resolved["output"],
            temp=resolved["temp"],
            extra_model_paths=load_extra_model_paths(self.extra_model_path_files()),
        )

    def extra_model_path_files(self) -> tuple[Path, ...]:
        """`<base_dir>/extra_model_paths.yaml` when it exists, then the configured files."""
        beside = (self.base_dir / YAML_NAME,) if self.base_dir is not None else ()
        return (*(p for p in beside if p.is_file()), *self.extra_model_paths_configs)

    def node_dirs(self) -> tuple[Path, ...]:
        """`<base>/custom_nodes` (when there is a base) with the extra_model_paths.yaml
        `custom_nodes` entries placed as ComfyUI places them, plus the extra folders.

        Raises:
            ExtraModelPathsError: an extra_model_paths.yaml is missing or malformed.
        """
        base = (self.base_dir / "custom_nodes",) if self.base_dir is not None else ()
        extra = load_extra_model_paths(self.extra_model_path_files())
        return (*extra.arrange("custom_nodes", base), *self.custom_node_dirs)


def _resolve_device(request: str) -> str:
    import torch

    if request not in ("auto", "cpu", "cuda"):
        raise EngineError(f"device={request!r} is unknown; use auto, cpu or cuda")
    if request == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if request == "cuda" and not torch.cuda.is_available():
        raise EngineError("device='cuda' was asked for but CUDA is not available; use --cpu")
    return request


def _build_context(config: EngineConfig, paths: EnginePaths) -> EngineContext:
    """The engine context: resolved device, a model cache set up for the config's precision
    and compile mode, and the `extras` core nodes read (precision, compile, preview_method).

    Raises:
        EngineError: Unknown precision/compile/preview value, CUDA asked for but missing, or
            compilation asked for on a CPU (refused, not ignored: the message says what to set).
    """
    from engine.models.cache import ModelCache
    from engine.models.speed import SpeedOptions

    limits = config.limits()
    if (
        isinstance(config.max_upload_mb, bool)
        or not isinstance(config.max_upload_mb, int)
        or (config.max_upload_mb < 1)
    ):
        raise EngineError(
            f"max_upload_mb={config.max_upload_mb!r} is not a positive whole number; "
            "use e.g. max_upload_mb=100"
        )
    device = _resolve_device(config.device)
    if config.preview_method not in PREVIEW_METHODS:
        raise EngineError(
            f"preview_method={config.preview_method!r} is unknown; "
            f"valid: {', '.join(PREVIEW_METHODS)}"
        )
    try:
        speed = SpeedOptions(
            config.cuda_graphs, config.fuse_qkv, config.attention, config.vae_slice
        )
        models = ModelCache(device, config.precision, compile_mode=config.compile, speed=speed)
    except ValueError as exc:
        raise EngineError(f"engine settings refused: {exc}") from exc
    extras = {
        "precision": config.precision,
        "compile": config.compile,
        "preview_method": config.preview_method,
    }
    choice = models.choice
    if choice.fp8 and config.compile == "off":
        logger.warning(
            "precision fp8 without compile runs the UNet ~1.7x SLOWER than bf16 (the per-call "
            "quantization is not fused); use it with compile (e.g. --compile-mode default)"
        )
    logger.info(
        "engine on %s: %s weights%s, VAE %s, compile %s, %s, previews %s",
        choice.device,
        str(choice.dtype).removeprefix("torch."),
        " (fp8 UNet)" if choice.fp8 else "",
        str(choice.vae_dtype).removeprefix("torch."),
        config.compile,
        models.speed,
        config.preview_method,
    )
    return EngineContext(paths=paths, models=models, device=device, extras=extras, limits=limits)


def _wipe_temp(paths: EnginePaths) -> None:
    """Empty temp/ like ComfyUI does on start and exit (PreviewImage files are throwaway).

    Never when temp/ is, or contains, another engine folder: a misconfigured temp dir must
    not cost the user their outputs or models.
    """
    temp = paths.temp.resolve()
    for other in (paths.input, paths.output, paths.models):
        other = other.resolve()
        if other == temp or temp in other.parents:
            logger.warning("temp dir %s holds %s; not wiping it", temp, other)
            return
    if temp.is_dir():
        shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir(parents=True, exist_ok=True)


class RunningEngine:
    """A served engine. Use as a context manager or call `stop()`."""

    def __init__(self, config: EngineConfig) -> None:
        from engine.node_loading import build_registry, comfy_nodes_dir
        from engine.nodes import core_display_names, core_node_classes
        from engine.server.app import EngineServer

        self.config = config
        paths = config.paths()
        self.context = _build_context(config, paths)  # first: a refused config touches no folder
        from engine.warmup import plan_from_flags

        self.warmup_plan = plan_from_flags(config.warmup, config.warmup_checkpoint, self.context)
        self.compile_cache = _compile_cache(config)
        paths.ensure()
        _wipe_temp(paths)
        packs = [d for d in [comfy_nodes_dir()] if d is not None] if config.load_comfy_nodes else []
        with bind_engine_context(self.context):
            self.registry, self.load_report = build_registry(
                core_node_classes(), core_display_names(), config.node_dirs(), packs
            )
        from prometheus_client import CollectorRegistry

        self.server = EngineServer(
            self.registry,
            self.context,
            config.max_upload_mb * 1024 * 1024,
            CollectorRegistry(),  # this engine's metrics (/metrics), never the global registry
        )
        self.port = 0
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._serve, name="dgxp-engine-server", daemon=True)

    def warm_up(self, on_progress: WarmupProgress | None = None) -> dict[str, float]:
        """Run the configured warm-up shapes (none: nothing); seconds per shape. With
        compile on, the compiled artifacts are then saved to the mega-cache.

        Raises:
            WarmupRefused: A shape's prompt failed, naming the shape.
        """
        from engine.models.compile_cache import save_mega_cache
        from engine.warmup import run_warmup

        if self.warmup_plan is None:
            return {}
        seconds = run_warmup(self.warmup_plan, self.registry, self.context, on_progress)
        if self.compile_cache is not None:
            save_mega_cache(self.compile_cache)
        return seconds

    @property
    def url(self) -> str:
        """Base URL of the served API (loopback when bound to all interfaces)."""
        host = self.config.host if self.config.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 60.0) -> RunningEngine:
        """Start serving; returns once the socket listens.

        Raises:
            EngineError: the server could not bind or did not come up within `timeout`.
        """
        self._thread.start()
        if not self._ready.wait(timeout):
            raise EngineError(f"the engine did not start listening within {timeout} s")
        if self._error is not None:
            where = f"{self.config.host}:{self.config.port}"
            raise EngineError(
                f"the engine could not serve on {where}: {self._error}"
            ) from self._error
        logger.info("engine serving at %s", self.url)
        return self

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as ex:  # reported to start() through _error
            self._error = ex
            self._ready.set()

    async def _main(self) -> None:
        from aiohttp import web

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        runner = web.AppRunner(self.server.make_app(), access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.config.host, self.config.port)
            await site.start()
            self.port = _bound_port(runner)
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving (the running prompt is interrupted) and wait for the thread."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        _wipe_temp(self.context.paths)

    def wait(self) -> None:
        """Block until the server thread ends."""
        self._thread.join()

    def __enter__(self) -> RunningEngine:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _bound_port(runner: object) -> int:
    addresses = getattr(runner, "addresses", [])
    for address in addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise EngineError("the engine socket has no bound address")


def _compile_cache(config: EngineConfig) -> CompileCache | None:
    """Persistent compile caches under the engine's folder when compile is on."""
    from engine.models.compile_cache import prepare_compile_cache

    root = config.compile_cache_dir or (
        config.base_dir / "compile-cache" if config.base_dir is not None else None
    )
    if config.compile == "off" or root is None:
        return None
    return prepare_compile_cache(Path(root).expanduser())


def start_engine(config: EngineConfig, on_warmup: WarmupProgress | None = None) -> RunningEngine:
    """Load nodes, run the warm-up shapes (`on_warmup` reports them), then serve the API in
    a background thread; returns once listening."""
    engine = RunningEngine(config)
    engine.warm_up(on_warmup)
    return engine.start()


def serve_forever(config: EngineConfig, on_warmup: WarmupProgress | None = None) -> None:
    """Serve until Ctrl-C (the CLI's `engine serve`)."""
    engine = start_engine(config, on_warmup)
    try:
        engine.wait()
    except KeyboardInterrupt:
        logger.info("stopping the engine")
    finally:
        engine.stop()
