"""LPIPS from user-given weights: the reference layout, exact zero on identical pictures,
ordering on near/far ones, and refusals naming the file or tensor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures.lpips_weights import ALEXNET_CONVS, write_lpips_weights
from safetensors.torch import load_file

from training.errors import EvaluationError
from training.evaluate.lpips import LPIPS_KEYS, load_lpips, lpips_distance


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    paths: tuple[Path, Path] = write_lpips_weights(tmp_path_factory.mktemp("lpips"))
    return paths


def _picture(seed: int, side: int = 24) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (side, side, 3)).astype(np.float64)


def _reference(paths: tuple[Path, Path], a: np.ndarray, b: np.ndarray) -> float:
    """LPIPS written out the reference way: torchvision's AlexNet `features` as an
    nn.Sequential (state dict loaded strictly), taps after each ReLU, 1x1 conv lins."""
    nn = torch.nn
    features = nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
    )  # fmt: skip
    state = torch.load(paths[0], weights_only=True)
    features.load_state_dict(
        {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    )
    lins = load_file(str(paths[1]))
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)

    def taps(x: np.ndarray) -> list[torch.Tensor]:
        big = np.repeat(np.repeat(x, 3, 0), 3, 1)  # 24 px -> 72 >= 64, as the module does
        t = (
            torch.from_numpy(big.transpose(2, 0, 1).copy()).float()[None] / 127.5 - 1 - shift
        ) / scale
        out = []
        for i, layer in enumerate(features):
            t = layer(t)
            if i in (1, 4, 7, 9, 11):
                out.append(t)
        return out

    total = 0.0
    with torch.no_grad():
        for k, (fa, fb) in enumerate(zip(taps(a), taps(b), strict=True)):
            na = fa / (fa.norm(dim=1, keepdim=True) + 1e-10)
            nb = fb / (fb.norm(dim=1, keepdim=True) + 1e-10)
            conv = torch.nn.functional.conv2d((na - nb) ** 2, lins[f"lin{k}.model.1.weight"])
            total += float(conv.mean())
    return total


def test_lpips_matches_the_reference_network_written_with_torch_modules(
    weights: tuple[Path, Path],
) -> None:
    net = load_lpips(weights)
    a, b = _picture(1), _picture(2)
    assert lpips_distance(net, a, b) == pytest.approx(_reference(weights, a, b), rel=1e-5)


def test_identical_is_zero_near_is_below_far_and_order_does_not_matter(
    weights: tuple[Path, Path],
) -> None:
    net = load_lpips(weights)
    a = _picture(1)
    near = a.copy()
    near[:4, :4] = 255 - near[:4, :4]
    far = _picture(3)
    assert lpips_distance(net, a, a.copy()) == 0.0
    assert 0.0 < lpips_distance(net, a, near) < lpips_distance(net, a, far)
    assert lpips_distance(net, a, far) == pytest.approx(lpips_distance(net, far, a))


def test_missing_tensors_are_named_with_the_files(weights: tuple[Path, Path]) -> None:
    with pytest.raises(EvaluationError, match=r"lacks lin0\.model\.1\.weight \(5 of 15") as caught:
        load_lpips([weights[0]])
    assert caught.value.field == "lpips_weights" and len(LPIPS_KEYS) == 15


def test_unreadable_or_misshapen_weights_are_refused(
    weights: tuple[Path, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(EvaluationError, match="cannot be read") as caught:
        load_lpips([bad, weights[1]])
    assert caught.value.value == str(bad)
    with pytest.raises(EvaluationError, match="does not exist"):
        load_lpips([tmp_path / "missing.pth"])
    state = torch.load(weights[0], weights_only=True)
    out, inp, kernel = ALEXNET_CONVS[3]
    state["features.3.weight"] = torch.zeros(out, inp + 1, kernel, kernel)
    torch.save(state, tmp_path / "wrong.pth")
    with pytest.raises(EvaluationError) as shaped:
        load_lpips([tmp_path / "wrong.pth", weights[1]])
    assert shaped.value.field == "features.3.weight"
