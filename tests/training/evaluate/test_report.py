"""report.html and report.json from a constructed evaluation (no engine needed)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from comfy_nodes.pixel.image_io import save_png_atomic
from training.errors import EvaluationError
from training.evaluate.assess import LPIPS_NOT_COMPUTED, Evaluation, Generation, GridRow
from training.evaluate.convergence import Verdict, convergence_verdict
from training.evaluate.pixel_metrics import PixelMetrics
from training.evaluate.report import check_out, write_report
from training.evaluate.similarity import Similarity


def _png(path: Path, value: int) -> Path:
    rgba = np.full((6, 6, 4), value, dtype=np.uint8)
    rgba[..., 3] = 255
    return save_png_atomic(path, rgba)


def _generation(tmp: Path, label: str, colors: int, psnr: float | None) -> Generation:
    sprite = _png(tmp / f"{label}_sprite.png", 40 if label == "base" else 200)
    render = _png(tmp / f"{label}_render.png", 90)
    pixels = PixelMetrics(0.5 if label == "base" else 0.9, colors, None, 3.0)
    similarity = None if psnr is None else Similarity(0.5, psnr)
    return Generation(label, sprite, render, pixels, similarity)


def _evaluation(tmp: Path, losses: tuple[tuple[int, float], ...] = ()) -> Evaluation:
    row = GridRow(
        "a <script>alert(1)</script> knight",
        7,
        _generation(tmp, "base", 12, 20.0),
        _generation(tmp, "lora", 6, math.inf),
    )
    return Evaluation(
        "knight.safetensors", "sdxl.safetensors", "pxl", 7, (row,), losses,
        convergence_verdict(losses), (LPIPS_NOT_COMPUTED, "palette distance not computed: x"),
    )  # fmt: skip


def test_summary_and_headline_count_wins_ties_and_skip_measures_without_values(
    tmp_path: Path,
) -> None:
    evaluation = _evaluation(tmp_path)
    summary = {s.measure.key: s for s in evaluation.summary()}
    assert list(summary) == ["grid_confidence", "colors", "roundtrip_error", "ssim", "psnr"]
    assert summary["grid_confidence"].lora_better is True
    assert summary["colors"].lora_better is None  # no better direction
    assert summary["roundtrip_error"].lora_better is None  # a tie
    assert summary["psnr"].lora_better is True and math.isinf(summary["psnr"].lora)
    assert evaluation.headline() == (
        "not converged: too few evaluations to judge; the LoRA does better than the base "
        "model on 2 of 4 measures, 2 tied"
    )


def test_a_run_without_validation_losses_says_so_and_draws_no_curve(tmp_path: Path) -> None:
    files = write_report(_evaluation(tmp_path), tmp_path / "report")
    page = files.html.read_text()
    assert "No validation losses were recorded" in page
    assert not (tmp_path / "report" / "loss.png").exists()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "held-out" not in page.split("<h2>Base vs LoRA</h2>")[1].split("</table>")[0]
    assert LPIPS_NOT_COMPUTED.replace("'", "&#x27;") in page and "∞" in page
    record = json.loads(files.json.read_text())
    assert record["summary"]["psnr"] == {"base": 20.0, "lora": "inf"}
    assert record["convergence"]["verdict"] == Verdict.TOO_FEW.name.lower()


def test_the_curve_is_drawn_when_there_are_losses(tmp_path: Path) -> None:
    losses = tuple((100 * i, 1.0 / i) for i in range(1, 9))
    files = write_report(_evaluation(tmp_path, losses), tmp_path / "report")
    assert (files.folder / "loss.png").read_bytes().startswith(b"\x89PNG")
    assert 'src="loss.png"' in files.html.read_text()


def test_an_out_folder_that_is_not_empty_is_refused_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(EvaluationError) as caught:
        write_report(_evaluation(tmp_path), out)
    assert caught.value.field == "out" and (out / "mine.txt").read_text() == "keep"
    with pytest.raises(EvaluationError, match="not empty"):
        check_out(out / "mine.txt")
