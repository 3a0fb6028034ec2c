"""Scores of a recovered sprite against its truth (OKLab distances, hard alpha)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from comfy_nodes.pixel.color import srgb_to_oklab

__all__ = ["COLOR_TOLERANCE", "Score", "score"]

#: OKLab distance within which a pixel counts as the right colour (jitter and JPEG shift
#: colours by ~0.02-0.04; distinct sprite colours are far further apart).
COLOR_TOLERANCE = 0.08


@dataclass(frozen=True)
class Score:
    """How one output compares with the truth."""

    size_exact: bool
    out_size: tuple[int, int] | None
    pixel_acc: float
    details_kept: float | None
    palette_err: float | None
    alpha_acc: float | None

    def to_dict(self) -> dict[str, object]:
        """JSON-able."""
        return asdict(self)


def _nearest_resize(img: NDArray[np.uint8], h: int, w: int) -> NDArray[np.uint8]:
    ys = np.minimum((np.arange(h) + 0.5) * img.shape[0] / h, img.shape[0] - 1).astype(int)
    xs = np.minimum((np.arange(w) + 0.5) * img.shape[1] / w, img.shape[1] - 1).astype(int)
    resized: NDArray[np.uint8] = img[ys][:, xs]
    return resized


def _details(lab: NDArray[np.float32], opaque: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """1-px features: opaque pixels unlike both horizontal, or both vertical, neighbours."""
    pad = np.pad(lab, ((1, 1), (1, 1), (0, 0)), constant_values=10.0)
    op = np.pad(opaque, 1, constant_values=False)

    def differs(dy: int, dx: int) -> NDArray[np.bool_]:
        n = pad[1 + dy : pad.shape[0] - 1 + dy, 1 + dx : pad.shape[1] - 1 + dx]
        nop = op[1 + dy : op.shape[0] - 1 + dy, 1 + dx : op.shape[1] - 1 + dx]
        far: NDArray[np.bool_] = np.linalg.norm(n - lab, axis=-1) > COLOR_TOLERANCE
        return far | ~nop

    horiz = differs(0, -1) & differs(0, 1)
    vert = differs(-1, 0) & differs(1, 0)
    return opaque & (horiz | vert)


def score(truth: NDArray[np.uint8], out: NDArray[np.uint8], transparent: bool) -> Score:
    """Compare ``out`` (any size, RGBA) with ``truth``; a wrong size is compared after a
    nearest-neighbour resize to the truth's size."""
    h, w = truth.shape[:2]
    exact = out.shape[:2] == (h, w)
    o = out if exact else _nearest_resize(out, h, w)
    t_op, o_op = truth[..., 3] >= 128, o[..., 3] >= 128
    t_lab = srgb_to_oklab(truth[..., :3]).astype(np.float32)
    o_lab = srgb_to_oklab(o[..., :3]).astype(np.float32)
    right = o_op & (np.linalg.norm(o_lab - t_lab, axis=-1) <= COLOR_TOLERANCE)
    pixel_acc = float(right[t_op].mean()) if t_op.any() else 1.0
    det = _details(t_lab, t_op)
    details = float(right[det].mean()) if det.any() else None
    pal_err = None
    if o_op.any() and t_op.any():
        tc = np.unique(truth[..., :3][t_op], axis=0)
        oc = np.unique(out[..., :3][out[..., 3] >= 128], axis=0)
        d = np.linalg.norm(srgb_to_oklab(tc)[:, None] - srgb_to_oklab(oc)[None], axis=-1)
        # Both ways: every true colour should have an output colour near it, and every
        # output colour a true colour near it (hundreds of noisy colours are an error too).
        pal_err = 0.5 * float(d.min(axis=1).mean() + d.min(axis=0).mean())
    alpha = float((o_op == t_op).mean()) if transparent else None
    return Score(exact, (int(out.shape[1]), int(out.shape[0])), pixel_acc, details, pal_err, alpha)
