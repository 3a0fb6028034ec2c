"""`Service.evaluate_lora` end to end on the tiny demo model, with a LoRA written by
`training.lora_io`: base-vs-LoRA pairs through `compare`, every measure, the report folder,
the report rendered in headless Chromium with every image loaded, and refused inputs
(nothing queued, nothing written)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fixtures.lpips_weights import write_lpips_weights
from PIL import Image
from safetensors import safe_open

from comfy_nodes.pixel.image_io import load_image
from orchestrator.composition import build_service
from orchestrator.errors import BackendError, InvalidRequest
from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.service.train_eval import EvalRequest, EvalResult
from orchestrator.settings import Settings
from training.dataset import DatasetOptions, prepare_dataset
from training.evaluate.convergence import Verdict
from training.lora_io import LoraMetadata, LoraWeights, init_lora, kohya_unet_targets, write_lora

FAST = {"steps": 1, "width": 64, "height": 64, "checkpoint": "tiny_sdxl.safetensors"}
CURVE = [[100, 0.4], [200, 0.3], [300, 0.2], [400, 0.2], [500, 0.2], [600, 0.2], [700, 0.2]]
CHROMIUM_HINT = (
    "`chromium` is not on PATH: the report test opens report.html in it; "
    "`bash scripts/setup.sh` installs it when run as root (`apt-get install -y chromium`)"
)


def _lora(checkpoint: Path, path: Path) -> Path:
    """A LoRA as if trained: kohya init, then non-zero up weights so the picture changes."""
    prefix = "model.diffusion_model."
    with safe_open(str(checkpoint), framework="pt") as handle:
        shapes = {
            key[len(prefix) :]: list(handle.get_slice(key).get_shape())
            for key in handle.keys()  # noqa: SIM118
            if key.startswith(prefix)
        }
    modules = init_lora(kohya_unet_targets(shapes), 4, 2.0, seed=3)
    gen = torch.Generator().manual_seed(4)
    trained = {
        p: LoraWeights(w.down, torch.randn(w.up.shape, generator=gen) * 0.5, w.alpha)
        for p, w in modules.items()
    }
    meta = LoraMetadata(output_name="knight_style", rank=4, alpha=2.0, trigger="pxlknight")
    return write_lora(path, trained, meta)


def _sprites(folder: Path, count: int, seed: int) -> Path:
    folder.mkdir(parents=True)
    palette = np.array([[200, 40, 40], [40, 40, 160], [230, 200, 60]], dtype=np.uint8)
    for i in range(count):
        cells = palette[np.random.default_rng(seed + i).integers(0, 3, (10, 10))]
        Image.fromarray(np.repeat(np.repeat(cells, 3, 0), 3, 1)).save(folder / f"s{i}.png")
    return folder


@dataclass(frozen=True)
class Setup:
    service: Service
    models: Path
    dataset: Path
    held_out: Path
    root: Path


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_sdxl_checkpoint: Path,
    engine_models_dir: Path,
    orch_engine: Any,
) -> Iterator[Setup]:
    """The session engine (its models load once per test run) with this module's LoRA and
    card in its loras folder for the module's duration (other modules list that folder)."""
    root = tmp_path_factory.mktemp("train_eval")
    lora = _lora(tiny_sdxl_checkpoint, engine_models_dir / "loras" / "knight_style.safetensors")
    card = engine_models_dir / "loras" / "knight_style.json"
    card.write_text(
        json.dumps({"name": "knight_style", "trigger_words": ["pxlknight"], "val_losses": CURVE})
    )
    dataset = root / "dataset"
    prepare_dataset(_sprites(root / "src", 5, 0), dataset, DatasetOptions("pxlknight"))
    held_out = _sprites(root / "held_out", 2, 100)
    (held_out / "s0.txt").write_text("a red and blue knight")
    settings = Settings(
        data_dir=root / "data", models_dir=engine_models_dir, backends=[orch_engine.url]
    )
    service = build_service(settings, workers=2).start()
    try:
        yield Setup(service, engine_models_dir, dataset, held_out, root)
    finally:
        service.stop()
        lora.unlink()
        card.unlink()


@pytest.fixture(scope="module")
def result(setup: Setup) -> EvalResult:
    request = EvalRequest(
        "knight_style", setup.root / "report", held_out=setup.held_out, dataset=setup.dataset,
        params=FAST, timeout_s=300, lpips_weights=write_lpips_weights(setup.root / "lpips"),
    )  # fmt: skip
    steps: list[tuple[int, int]] = []
    done = setup.service.evaluate_lora(request, lambda p: steps.append((p.done, p.total)))
    assert steps == [(i, 4) for i in range(1, 5)]
    return done


def test_pairs_run_through_compare_with_one_seed_and_the_lora_on_one_side(
    setup: Setup, result: EvalResult
) -> None:
    jobs = setup.service.list_jobs()
    assert len(jobs) == 4 and {j.seed for j in jobs} == {result.evaluation.seed}
    batches: dict[str | None, list[object]] = {}
    for job in jobs:
        batches.setdefault(job.batch_id, []).append(job.params.get("loras"))
    assert len(batches) == 2  # one comparison per held-out prompt
    for loras in batches.values():
        assert sorted(map(str, loras)) == sorted(
            ["[]", "[{'name': 'knight_style.safetensors', 'strength': 1.0}]"]
        )
    prompts = [row.prompt for row in result.evaluation.rows]
    assert prompts == ["pxlknight, a red and blue knight", "pxlknight, s1"]


def test_the_lora_changes_the_render(result: EvalResult) -> None:
    for row in result.evaluation.rows:
        base, lora = load_image(row.base.render), load_image(row.lora.render)
        assert base.shape == lora.shape and not np.array_equal(base, lora)


def test_every_measure_is_computed_and_the_curve_judged(result: EvalResult) -> None:
    evaluation = result.evaluation
    assert evaluation.convergence.verdict is Verdict.CONVERGED  # the card's flat tail
    assert evaluation.val_losses == tuple((s, v) for s, v in CURVE)
    assert evaluation.demo and evaluation.trigger == "pxlknight"
    for row in evaluation.rows:
        assert row.reference is not None
        for gen in (row.base, row.lora):
            assert gen.similarity is not None and -1.0 <= gen.similarity.ssim <= 1.0
            assert gen.similarity.lpips is not None and gen.similarity.lpips > 0.0
            assert gen.pixels.palette_distance is not None and gen.pixels.palette_distance >= 0
            assert 0.0 <= gen.pixels.grid_confidence <= 1.0 and gen.pixels.colors >= 1
    keys = [s.measure.key for s in evaluation.summary()]
    assert keys == [
        "grid_confidence",
        "colors",
        "palette_distance",
        "roundtrip_error",
        "ssim",
        "psnr",
        "lpips",
    ]
    assert evaluation.notes == ()  # LPIPS weights were given: nothing left out


def test_the_report_folder_holds_the_page_its_plots_and_json(result: EvalResult) -> None:
    folder = result.report.folder
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert names == [
        "grid/00_base.png", "grid/00_held_out.png", "grid/00_lora.png",
        "grid/01_base.png", "grid/01_held_out.png", "grid/01_lora.png",
        "loss.png", "measures.png", "report.html", "report.json",
    ]  # fmt: skip
    page = result.report.html.read_text()
    sources = re.findall(r'<img[^>]* src="([^"]+)"', page)
    assert sorted(sources) == sorted(n for n in names if n.endswith(".png"))
    assert page.index("converged; the LoRA does better than the base model on") < page.index(
        "<h2>Base vs LoRA"
    )
    assert "LPIPS vs held-out" in page and "not computed" not in page
    record = json.loads(result.report.json.read_text())
    assert record["convergence"]["verdict"] == "converged" and len(record["rows"]) == 2


_CHECK = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const broken = images.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.src);
  const out = document.createElement("pre");
  out.id = "img-check";
  const h1 = document.querySelector("h1").textContent;
  out.textContent = JSON.stringify({count: images.length, broken: broken, h1: h1});
  document.body.appendChild(out);
});
</script>"""


def test_the_report_renders_in_headless_chromium_with_every_image_loaded(
    result: EvalResult, tmp_path: Path
) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail(CHROMIUM_HINT, pytrace=False)
    # The same page plus a probe script, beside it so every relative image path holds.
    probe = result.report.folder / "probe.html"
    probe.write_text(result.report.html.read_text().replace("</body>", _CHECK + "</body>"))
    try:
        done = subprocess.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu",
                f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
                "--dump-dom", probe.as_uri(),
            ],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        probe.unlink()
    found = re.search(r'<pre id="img-check">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the page did not render (exit {done.returncode}): {done.stderr[-2000:]}"
    check = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert check["count"] == 8 and check["broken"] == []
    assert check["h1"] == "LoRA evaluation: knight_style.safetensors"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lora": "no_such_lora"}, "lora"),
        ({"prompts_file": "empty.txt"}, "prompts"),
        ({"held_out": "no_images"}, "held_out"),
        ({"dataset": "no_manifest"}, "dataset"),
        ({"out": "not_empty"}, "out"),
        ({"val_losses": ((200, 0.3), (100, 0.2))}, "val_losses[1]"),
    ],
)
def test_bad_input_is_refused_by_name_before_anything_is_queued(
    setup: Setup, result: EvalResult, tmp_path: Path, change: dict[str, object], field: str
) -> None:
    (tmp_path / "empty.txt").write_text("\n# only a comment\n\n")
    (tmp_path / "no_images").mkdir()
    (tmp_path / "no_images" / "notes.txt").write_text("no pictures here")
    (tmp_path / "no_manifest").mkdir()
    (tmp_path / "not_empty").mkdir()
    (tmp_path / "not_empty" / "keep.txt").write_text("mine")
    values = {
        k: tmp_path / v if isinstance(v, str) and k != "lora" else v for k, v in change.items()
    }
    request = replace(EvalRequest("knight_style", tmp_path / "out", params=FAST), **values)  # type: ignore[arg-type]
    before = len(setup.service.list_jobs())
    with pytest.raises(InvalidRequest) as caught:
        setup.service.evaluate_lora(request)
    assert caught.value.field == field
    assert len(setup.service.list_jobs()) == before
    assert not (tmp_path / "out").exists()
    assert (tmp_path / "not_empty" / "keep.txt").read_text() == "mine"


def test_after_training_reports_into_the_run_folder_and_never_fails_the_run(
    setup: Setup, result: EvalResult, tmp_path: Path
) -> None:
    from orchestrator.service.train_eval import after_training
    from orchestrator.service.train_jobs import TrainParams, TrainResult
    from training.spec import TrainingSpec

    lora = setup.models / "loras" / "knight_style.safetensors"
    trained = TrainResult(str(lora), None, "embedded", 10, 0.2)
    params = TrainParams(
        "knight_style", setup.dataset, setup.models / "checkpoints" / "tiny_sdxl.safetensors",
        TrainingSpec(), trigger="pxlknight",
    )  # fmt: skip
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "old.txt").write_text("an earlier report")
    evaluate = after_training(setup.service, FAST)
    done = evaluate(trained, params, tmp_path)
    assert done.report_path == str(tmp_path / "eval-2" / "report.html")
    saved = json.loads((tmp_path / "eval-2" / "report.json").read_text())
    assert saved["checkpoint"] == "tiny_sdxl.safetensors" and saved["val_losses"] == CURVE
    assert len(saved["rows"]) == 4  # the default prompts
    missing = replace(trained, lora_path=str(lora.with_name("gone.safetensors")))
    assert evaluate(missing, params, tmp_path) == missing  # logged; the LoRA stands


def test_a_generation_past_the_timeout_cancels_the_rest_and_writes_nothing(
    setup: Setup, result: EvalResult, tmp_path: Path
) -> None:
    before = {j.id for j in setup.service.list_jobs()}
    request = EvalRequest("knight_style", tmp_path / "out", params=FAST, timeout_s=0.0)
    with pytest.raises(BackendError, match="not done after 0 s"):
        setup.service.evaluate_lora(request)
    new = [j for j in setup.service.list_jobs() if j.id not in before]
    assert len(new) == 8 and all(j.state.is_terminal for j in new)
    assert any(j.state is JobState.CANCELLED for j in new)
    assert not (tmp_path / "out").exists()
