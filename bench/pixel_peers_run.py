"""Run the PyPI peers (unfake, perfect-pixel, pixeloe) on benchmark images.

Runs inside ``bench/.peers-venv`` (made by ``bench/peers.sh``), never in the project venv:
``bench/pixel_quality.py`` starts it as a subprocess and exchanges PNG files. Each peer's
output sprite is written as ``OUT/<peer>/<name>.png``; ``OUT/peers.json`` records timings,
versions and, for a peer that cannot be imported or fails on an image, why.

    python bench/pixel_peers_run.py MANIFEST.json IN_DIR OUT_DIR
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

log = logging.getLogger("pixel_peers_run")

Runner = Callable[[Path, dict[str, Any]], np.ndarray]


def _unfake() -> Runner:
    import unfake

    def run(path: Path, case: dict[str, Any]) -> np.ndarray:
        out = unfake.process_image_sync(
            str(path), max_colors=16, transparent_background=bool(case["transparent"])
        )
        return np.asarray(out["image"].convert("RGBA"))

    return run


def _perfect_pixel() -> Runner:
    from perfect_pixel import get_perfect_pixel

    def run(path: Path, case: dict[str, Any]) -> np.ndarray:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        w, _h, img = get_perfect_pixel(rgb)
        if w is None:
            raise RuntimeError("perfect-pixel: failed to estimate the grid")
        return np.asarray(Image.fromarray(np.asarray(img, np.uint8)).convert("RGBA"))

    return run


def _pixeloe() -> Runner:
    import torch
    from pixeloe.torch.pixelize import pixelize

    def run(path: Path, case: dict[str, Any]) -> np.ndarray:
        rgb = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0
        t = torch.from_numpy(rgb).permute(2, 0, 1)[None]
        # pixeloe has no grid detection: it is handed the true cell size (a hint the
        # others do not get) and returns the unscaled result.
        size = max(1, round(float(case["scale"])))
        with torch.no_grad():
            out = pixelize(t, pixel_size=size, thickness=1, no_post_upscale=True, backend="torch")
        arr = (out[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255.0).round().astype(np.uint8)
        return np.asarray(Image.fromarray(arr).convert("RGBA"))

    return run


PEERS: dict[str, tuple[str, Callable[[], Runner]]] = {
    "unfake": ("unfake", _unfake),
    "perfect-pixel": ("perfect-pixel", _perfect_pixel),
    "pixeloe": ("pixeloe", _pixeloe),
}


def _run_peer(
    name: str, make: Callable[[], Runner], cases: list[dict[str, Any]], src: Path, out: Path
) -> dict[str, Any]:
    record: dict[str, Any] = {"ok": False, "times_ms": {}, "errors": {}}
    try:
        record["version"] = metadata.version(PEERS[name][0])
        runner = make()
    except Exception as err:
        record["unavailable"] = f"{type(err).__name__}: {err}"
        return record
    (out / name).mkdir(parents=True, exist_ok=True)
    for case in cases:
        path = src / f"{case['name']}.png"
        t0 = time.perf_counter()
        try:
            sprite = runner(path, case)
        except Exception as err:
            record["errors"][case["name"]] = f"{type(err).__name__}: {err}"[:300]
            continue
        record["times_ms"][case["name"]] = (time.perf_counter() - t0) * 1e3
        Image.fromarray(sprite).save(out / name / f"{case['name']}.png")
    record["ok"] = True
    return record


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    manifest, src, out = Path(argv[0]), Path(argv[1]), Path(argv[2])
    cases = json.loads(manifest.read_text())
    only = set(argv[3].split(",")) if len(argv) > 3 else set(PEERS)
    results = {
        name: _run_peer(name, make, cases, src, out)
        for name, (_, make) in PEERS.items()
        if name in only
    }
    (out / "peers.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
