"""Generation tools: sprite, sprite sheet, tileset, autotile set and model comparison.

Each tool builds a `GenerationRequest` (or comparison variants), submits it through the
service, follows the job with progress notifications and returns the sprite as an image
plus its paths and job id.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from fastmcp import Context, FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import Field

from orchestrator.adapters.mcp.args import (
    Checkpoint,
    Colors,
    ExtraParams,
    Loras,
    Palette,
    Prompt,
    Seed,
    Size,
    Steps,
    TimeoutS,
    Wait,
    lora_specs,
    size_arg,
)
from orchestrator.adapters.mcp.errors import client_errors
from orchestrator.adapters.mcp.progress import await_job, await_jobs
from orchestrator.adapters.mcp.results import job_result, jobs_result
from orchestrator.adapters.mcp.views import LoraArg, VariantArg
from orchestrator.service.autotile import autotile_request
from orchestrator.service.sheet_request import DEFAULT_DIRECTIONS, SHEET_DIRECTIONS, sheet_request
from orchestrator.service.values import MAX_SEED, CompareVariant, GenerationRequest

if TYPE_CHECKING:
    from orchestrator.service import Service

__all__ = ["register_generation_tools"]

logger = logging.getLogger(__name__)

Frames = Annotated[int, Field(default=4, ge=1, le=16, description="Frames per direction (1-16).")]
Directions = Annotated[
    list[Literal[*SHEET_DIRECTIONS]] | None,  # type: ignore[valid-type]
    Field(
        default=None,
        min_length=1,
        max_length=len(SHEET_DIRECTIONS),
        description="Sheet rows in order; default down, left, right, up.",
    ),
]
Denoise = Annotated[
    float | None,
    Field(
        default=None,
        ge=0.05,
        le=1.0,
        description="img2img strength of later frames from their direction's first frame "
        "(default 0.45): lower keeps the character, higher allows bigger poses.",
    ),
]
TurnDenoise = Annotated[
    float | None,
    Field(
        default=None,
        ge=0.05,
        le=1.0,
        description="img2img strength of each further direction's first frame from frame 0 "
        "(default 0.7).",
    ),
]
FrameMs = Annotated[
    int | None, Field(default=None, ge=1, le=60000, description="Duration of each frame (ms).")
]
Variants = Annotated[
    list[VariantArg],
    Field(min_length=2, max_length=4, description="2-4 checkpoints / LoRA sets to compare."),
]


def _params(extra: dict[str, Any] | None, **values: Any) -> dict[str, Any]:
    """Template parameters that were given: `extra` first, named arguments win."""
    given = {key: value for key, value in values.items() if value is not None}
    return {**(extra or {}), **given}


def _request(
    template: str,
    prompt: str,
    params: dict[str, Any],
    seed: int | None,
    loras: list[LoraArg] | None,
    palette: str | None,
    size: tuple[int, int] | None,
    add_triggers: bool = True,
) -> GenerationRequest:
    """The service request every generation tool sends (only template and params differ)."""
    return GenerationRequest(
        template=template,
        prompt=prompt,
        params=params,
        seed=seed,
        loras=lora_specs(loras),
        palette=palette,
        size=size,
        add_triggers=add_triggers,
    )


async def _run(
    service: Service, ctx: Context, request: GenerationRequest, wait: bool, timeout_s: float
) -> ToolResult:
    """Submit, optionally follow with progress, and build the result."""
    with client_errors():
        # An MCP client is remote: palette files only from the allowed folders.
        jobs = await anyio.to_thread.run_sync(partial(service.submit, request, origin="remote"))
        job = jobs[0]
        logger.info("job %s: queued via MCP (%s)", job.id, request.template)
        if wait:
            job = await await_job(service, job.id, ctx.report_progress, timeout_s)
        return await anyio.to_thread.run_sync(job_result, service, job)


def register_generation_tools(mcp: FastMCP, service: Service) -> None:
    """Add the generation tools to `mcp`, all calling `service`."""

    @mcp.tool
    async def generate_sprite(
        ctx: Context,
        prompt: Prompt,
        size: Size = "auto",
        palette: Palette = None,
        loras: Loras = None,
        seed: Seed = None,
        checkpoint: Checkpoint = None,
        steps: Steps = None,
        colors: Colors = None,
        negative_prompt: str | None = None,
        template: Annotated[
            str,
            Field(max_length=200, description="Workflow template from list_templates."),
        ] = "single_sprite",
        params: ExtraParams = None,
        lora_triggers: Annotated[
            bool,
            Field(
                description="Put each LoRA's trigger words (from its card, see list_loras) "
                "before the prompt; false: the prompt as given."
            ),
        ] = True,
        wait: Wait = True,
        timeout_s: TimeoutS = 600.0,
    ) -> ToolResult:
        """Generate one game-ready pixel-art sprite from a prompt.

        Returns the sprite as an image (scaled preview), its file paths and the job id;
        deploy it into a Bevy project with deploy_asset.
        """
        with client_errors():
            values = _params(
                params,
                checkpoint=checkpoint,
                steps=steps,
                colors=colors,
                negative_prompt=negative_prompt,
            )
            request = _request(
                template, prompt, values, seed, loras, palette, size_arg(size), lora_triggers
            )
        return await _run(service, ctx, request, wait, timeout_s)

    @mcp.tool
    async def generate_sprite_sheet(
        ctx: Context,
        prompt: Prompt,
        directions: Directions = None,
        frames: Frames = 4,
        denoise: Denoise = None,
        turn_denoise: TurnDenoise = None,
        frame_ms: FrameMs = None,
        size: Size = "auto",
        palette: Palette = None,
        loras: Loras = None,
        seed: Seed = None,
        checkpoint: Checkpoint = None,
        steps: Steps = None,
        params: ExtraParams = None,
        wait: Wait = True,
        timeout_s: TimeoutS = 600.0,
    ) -> ToolResult:
        """Generate one character as a walk-animation sheet: every direction x every frame.

        Frame 0 is rendered from the prompt, every other frame by img2img from it (shared
        prompt, seed+i, its own direction and walk pose), so all frames are one character;
        they share one grid and palette, stand on one pivot, one row per direction. Returns
        the sheet as an image, the paths of its Aseprite atlas (tags walk_down ...), its
        Bevy atlas (TextureAtlasLayout::from_grid arguments, animation index ranges) and
        its GIF preview, the consistency warnings, and the job id.
        """
        with client_errors():
            request = sheet_request(
                prompt,
                directions=directions or DEFAULT_DIRECTIONS,
                frames=frames,
                denoise=denoise,
                turn_denoise=turn_denoise,
                frame_ms=frame_ms,
                seed=seed,
                size=size_arg(size),
                palette=palette,
                loras=lora_specs(loras),
                params=_params(params, checkpoint=checkpoint, steps=steps),
            )
        return await _run(service, ctx, request, wait, timeout_s)

    @mcp.tool
    async def generate_tileset(
        ctx: Context,
        prompt: Prompt,
        tile_size: Size = "16x16",
        palette: Palette = None,
        loras: Loras = None,
        seed: Seed = None,
        checkpoint: Checkpoint = None,
        steps: Steps = None,
        params: ExtraParams = None,
        wait: Wait = True,
        timeout_s: TimeoutS = 600.0,
    ) -> ToolResult:
        """Generate a seamless (tileable) terrain tile, e.g. 'grass', 'stone floor'."""
        with client_errors():
            values = _params(params, checkpoint=checkpoint, steps=steps)
            tile = size_arg(tile_size, "tile_size")
            request = _request("tileset", prompt, values, seed, loras, palette, tile)
        return await _run(service, ctx, request, wait, timeout_s)

    @mcp.tool
    async def generate_autotile(
        ctx: Context,
        lower: Annotated[
            str, Field(min_length=1, max_length=4000, description="Base terrain, e.g. 'grass'.")
        ],
        upper: Annotated[
            str,
            Field(min_length=1, max_length=4000, description="Terrain laid over it, e.g. 'water'."),
        ],
        tile_size: Size = "32x32",
        palette: Palette = None,
        loras: Loras = None,
        seed: Seed = None,
        checkpoint: Checkpoint = None,
        steps: Steps = None,
        params: ExtraParams = None,
        wait: Wait = True,
        timeout_s: TimeoutS = 900.0,
    ) -> ToolResult:
        """Generate a 16-tile two-terrain corner (Wang) set for tilemaps.

        Returns the 4x4 atlas as an image, its layout JSON path (files.atlas; tile index =
        NE*1 + SE*2 + SW*4 + NW*8 with 1 = upper terrain at that corner, tile i at column
        i % 4, row i // 4), a random-map preview (files.tiled_preview) and the job id; the
        QA report scores every pair of touching edges.
        """
        with client_errors():
            request = autotile_request(
                lower,
                upper,
                seed=seed,
                size=size_arg(tile_size, "tile_size"),
                palette=palette,
                loras=lora_specs(loras),
                params=_params(params, checkpoint=checkpoint, steps=steps),
            )
        return await _run(service, ctx, request, wait, timeout_s)

    @mcp.tool
    async def compare_models(
        ctx: Context,
        prompt: Prompt,
        variants: Variants,
        seed: Annotated[
            int, Field(ge=0, le=MAX_SEED, description="One seed (0..2**64-1) for every variant.")
        ] = 0,
        steps: Steps = None,
        params: ExtraParams = None,
        wait: Wait = True,
        timeout_s: TimeoutS = 600.0,
    ) -> ToolResult:
        """Generate the same prompt and seed with 2-4 checkpoints or LoRA sets, side by side.

        Pass small `params` (e.g. {"width": 512, "height": 512}) and few `steps` for a
        quick look: the template renders 1024x1024 by default.
        """
        with client_errors():
            chosen = [
                CompareVariant(
                    label=v.label or "", checkpoint=v.checkpoint, loras=lora_specs(v.loras)
                )
                for v in variants
            ]
            values = _params(params, steps=steps)
            compare = partial(service.compare, prompt, seed, chosen, values, origin="remote")
            comparison = await anyio.to_thread.run_sync(compare)  # labels: the service's rule
            jobs = comparison.jobs
            if wait:
                ids = [job.id for job in jobs]
                jobs = await await_jobs(service, ids, ctx.report_progress, timeout_s)
            labelled = list(zip(comparison.labels, jobs, strict=True))
            return await anyio.to_thread.run_sync(jobs_result, service, labelled)
