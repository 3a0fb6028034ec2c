"""`report.html` a person reads, its PNG plots and `report.json`, written as one folder.

The page opens with the verdict (convergence and how the LoRA compares with the base
model), then the fixed-seed grid (base, LoRA and the held-out image per prompt), the
validation-loss curve, the measures, the per-prompt figures and what was not measured.
It is self-contained: no script, no stylesheet or font from elsewhere; every image is a
PNG in the folder beside it, so the folder can be zipped or served as it is.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from comfy_nodes.pixel.atomic import write_folder_atomic
from comfy_nodes.pixel.image_io import encode_png, load_image
from comfy_nodes.pixel.palette_size import DEFAULT_JND
from comfy_nodes.pixel.upscale import upscale_nearest
from training.errors import EvaluationError
from training.evaluate.assess import MEASURES, Evaluation, Generation, GridRow, MeasureSummary
from training.evaluate.plots import loss_plot, measures_plot

__all__ = ["REPORT_JSON", "REPORT_NAME", "ReportFiles", "check_out", "write_report"]

REPORT_NAME: Final[str] = "report.html"
REPORT_JSON: Final[str] = "report.json"
_SHOWN_SIDE: Final[int] = 128  # grid images are enlarged (nearest) to at least this side

_CSS = """
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1f;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd}
.verdict{font-size:1.25rem;font-weight:600;padding:.8rem 1rem;border-radius:.4rem}
.ok{background:#e6f4ea}.warn{background:#fdecea}.demo{background:#fff4e5;padding:.6rem 1rem}
table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #ddd;padding:.35rem .6rem;
text-align:left;vertical-align:top}th{background:#f4f4f6}
img{max-width:100%;height:auto}img.sprite{image-rendering:pixelated;background:#eee}.num{text-align:right;
font-variant-numeric:tabular-nums}.better{color:#137333}.worse{color:#a50e0e}
"""


@dataclass(frozen=True)
class ReportFiles:
    """The written report folder and its two main files."""

    folder: Path
    html: Path
    json: Path


def check_out(out: Path) -> None:
    """Refuse an `out` that exists and is not an empty folder (before any work).

    Raises:
        EvaluationError: naming `out`.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise EvaluationError("out", str(out), "exists and is not empty; choose a new folder")


def _shown(rgba: NDArray[np.uint8]) -> bytes:
    factor = max(1, min(16, _SHOWN_SIDE // max(rgba.shape[:2])))
    return encode_png(upscale_nearest(rgba, factor))


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if math.isinf(value):
        return "∞"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"


def _img(src: str, alt: str) -> str:
    return f'<img class="sprite" src="{escape(src)}" alt="{escape(alt)}">'


def _grid_section(evaluation: Evaluation, files: dict[str, bytes]) -> str:
    held = any(row.reference is not None for row in evaluation.rows)
    head = "<tr><th>prompt</th><th>base</th><th>LoRA</th>"
    head += "<th>held-out</th></tr>" if held else "</tr>"
    body = []
    for i, row in enumerate(evaluation.rows):
        cells = [f"<td>{escape(row.prompt)}</td>"]
        for gen in (row.base, row.lora):
            name = f"grid/{i:02d}_{gen.label}.png"
            files[name] = _shown(load_image(gen.sprite))
            cells.append(f"<td>{_img(name, f'{gen.label}: {row.prompt}')}</td>")
        if held:
            cell = ""
            if row.reference is not None:
                name = f"grid/{i:02d}_held_out.png"
                files[name] = _shown(load_image(row.reference))
                cell = _img(name, f"held-out: {row.reference.name}")
            cells.append(f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    intro = (
        f"<p>Every prompt drawn twice with seed {evaluation.seed}: by "
        f"<code>{escape(evaluation.checkpoint)}</code> alone (base) and with the LoRA.</p>"
    )
    return f"<h2>Base vs LoRA</h2>{intro}<table>{head}{''.join(body)}</table>"


def _loss_section(evaluation: Evaluation, files: dict[str, bytes]) -> str:
    text = f"<p>{escape(evaluation.convergence.sentence())}.</p>"
    if not evaluation.val_losses:
        return (
            "<h2>Validation loss</h2><p>No validation losses were recorded for this LoRA, "
            f"so convergence cannot be judged.</p>{text}"
        )
    files["loss.png"] = loss_plot(evaluation.val_losses, evaluation.convergence)
    rows = "".join(
        f'<tr><td class="num">{step}</td><td class="num">{loss:.5f}</td></tr>'
        for step, loss in evaluation.val_losses
    )
    table = f"<table><tr><th>step</th><th>validation loss</th></tr>{rows}</table>"
    return f"<h2>Validation loss</h2>{text}{_img('loss.png', 'validation loss curve')}{table}"


def _judged(item: MeasureSummary) -> str:
    if item.lora_better is None:
        return "–"
    return (
        '<span class="better">LoRA</span>'
        if item.lora_better
        else '<span class="worse">base</span>'
    )


def _measures_section(evaluation: Evaluation, files: dict[str, bytes]) -> str:
    summary = evaluation.summary()
    if not summary:
        return "<h2>Measures</h2><p>No measure has values on both sides.</p>"
    files["measures.png"] = measures_plot(summary)
    rows = "".join(
        f"<tr><td>{escape(s.measure.title)}</td><td>{s.measure.better}</td>"
        f'<td class="num">{_fmt(s.base)}</td><td class="num">{_fmt(s.lora)}</td>'
        f"<td>{_judged(s)}</td></tr>"
        for s in summary
    )
    head = "<tr><th>measure (mean over prompts)</th><th>better</th><th>base</th><th>LoRA</th>"
    legend = (
        "<p>Grid confidence: how strongly the full-size render follows one pixel lattice. "
        "Colour count: distinct colours of the delivered sprite. Palette distance: mean OKLab "
        "distance of the sprite's colours to the nearest training colour (the pixel core "
        f"merges colours closer than {DEFAULT_JND}). Round-trip error: the render against "
        "itself pixelized and painted back, mean absolute error per channel. SSIM/PSNR: the "
        "sprite against the held-out image its prompt came from, at that image's size; "
        "LPIPS (AlexNet, from the weights given) the same pair, lower is closer.</p>"
    )
    table = f"<table>{head}<th>closer to the goal</th></tr>{rows}</table>"
    return f"<h2>Measures</h2>{legend}{_img('measures.png', 'measures, base vs LoRA')}{table}"


def _per_prompt(evaluation: Evaluation) -> str:
    head = "<tr><th>prompt</th><th>side</th>" + "".join(
        f"<th>{escape(m.title)}</th>" for m in MEASURES
    )
    body = []
    for row in evaluation.rows:
        for gen in (row.base, row.lora):
            cells = "".join(f'<td class="num">{_fmt(m.value(gen))}</td>' for m in MEASURES)
            body.append(f"<tr><td>{escape(row.prompt)}</td><td>{gen.label}</td>{cells}</tr>")
    return f"<h2>Per prompt</h2><table>{head}</tr>{''.join(body)}</table>"


def _head(evaluation: Evaluation) -> str:
    tone = "ok" if evaluation.convergence.verdict.converged else "warn"
    demo = (
        '<p class="demo">The base checkpoint is the tiny random demo model: the pictures and '
        "figures show that the evaluation runs, not what the LoRA learned.</p>"
        if evaluation.demo
        else ""
    )
    lines = "".join(
        f"<li>{escape(s.measure.title)}: base {_fmt(s.base)} → LoRA {_fmt(s.lora)}</li>"
        for s in evaluation.summary()
    )
    return (
        f"<h1>LoRA evaluation: {escape(evaluation.lora)}</h1>"
        f'<p class="verdict {tone}">{escape(evaluation.headline())}</p>{demo}'
        f"<ul><li>{escape(evaluation.convergence.sentence())}</li>{lines}</ul>"
    )


def _settings(evaluation: Evaluation) -> str:
    notes = "".join(f"<li>{escape(note)}</li>" for note in evaluation.notes)
    trigger = escape(evaluation.trigger) or "(none)"
    return (
        f"<h2>Not measured</h2><ul>{notes}</ul><h2>Settings</h2><table>"
        f"<tr><th>LoRA</th><td>{escape(evaluation.lora)}</td></tr>"
        f"<tr><th>base checkpoint</th><td>{escape(evaluation.checkpoint)}</td></tr>"
        f"<tr><th>trigger word</th><td>{trigger}</td></tr>"
        f"<tr><th>seed</th><td>{evaluation.seed}</td></tr>"
        f"<tr><th>prompts</th><td>{len(evaluation.rows)}</td></tr></table>"
    )


def _number(value: float | None) -> float | str | None:
    return "inf" if value is not None and math.isinf(value) else value


def _generation_record(gen: Generation) -> dict[str, object]:
    return {
        "sprite": str(gen.sprite),
        "render": str(gen.render),
        **{m.key: _number(m.value(gen)) for m in MEASURES},
    }


def _record(evaluation: Evaluation) -> dict[str, object]:
    conv = evaluation.convergence
    return {
        "type": "dgxp_lora_evaluation",
        "version": 1,
        "lora": evaluation.lora,
        "checkpoint": evaluation.checkpoint,
        "trigger": evaluation.trigger,
        "seed": evaluation.seed,
        "demo": evaluation.demo,
        "headline": evaluation.headline(),
        "convergence": {
            "verdict": conv.verdict.name.lower(),
            "sentence": conv.sentence(),
            "evaluations": conv.evaluations,
            "window": conv.window,
            "tolerance": conv.tolerance,
            "relative_change": conv.relative_change,
        },
        "val_losses": [list(pair) for pair in evaluation.val_losses],
        "summary": {
            s.measure.key: {"base": _number(s.base), "lora": _number(s.lora)}
            for s in evaluation.summary()
        },
        "rows": [_row_record(row) for row in evaluation.rows],
        "notes": list(evaluation.notes),
    }


def _row_record(row: GridRow) -> dict[str, object]:
    return {
        "prompt": row.prompt,
        "seed": row.seed,
        "reference": None if row.reference is None else str(row.reference),
        "base": _generation_record(row.base),
        "lora": _generation_record(row.lora),
    }


def write_report(evaluation: Evaluation, out: Path) -> ReportFiles:
    """Write `report.html`, its PNGs and `report.json` into the new folder `out`, at once.

    Raises:
        EvaluationError: `out` exists and is not empty.
        OSError: Writing failed; nothing is left at `out`.
    """
    check_out(out)
    files: dict[str, bytes] = {}
    sections = [
        _head(evaluation),
        _grid_section(evaluation, files),
        _loss_section(evaluation, files),
        _measures_section(evaluation, files),
        _per_prompt(evaluation),
        _settings(evaluation),
    ]
    title = f"LoRA evaluation: {escape(evaluation.lora)}"
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_CSS}</style></head><body>{''.join(sections)}</body></html>\n"
    )
    files[REPORT_NAME] = page.encode("utf-8")
    files[REPORT_JSON] = json.dumps(_record(evaluation), indent=2).encode("utf-8")
    write_folder_atomic(files, out)
    return ReportFiles(out, out / REPORT_NAME, out / REPORT_JSON)
