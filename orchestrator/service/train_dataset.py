"""The `train dataset` use case: a folder of sprites -> a captioned training dataset.

The work is `training.dataset`'s; this module is the service's door to it. A refusal from
training (bad option, too few images, a corrupt file) becomes the service's own
`InvalidRequest`, naming the same field and value, so adapters handle one error type.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import InvalidRequest
from training.dataset_modes import ALPHA_MODES as DATASET_ALPHA_MODES

if TYPE_CHECKING:
    from training.dataset import DatasetResult
    from training.dataset_modes import AlphaMode

__all__ = ["DATASET_ALPHA_MODES", "prepare_dataset"]


def prepare_dataset(
    src: Path,
    out: Path,
    trigger: str,
    *,
    min_images: int = 5,
    alpha: AlphaMode = "key",
    key_color: str = "#FF00FF",
    captions_csv: Path | None = None,
    auto_tags: bool = True,
) -> DatasetResult:
    """See `Service.prepare_dataset`."""
    from training.dataset import DatasetOptions
    from training.dataset import prepare_dataset as prepare
    from training.errors import TrainingError

    options = DatasetOptions(trigger, min_images, alpha, key_color, captions_csv, auto_tags)
    try:
        return prepare(src, out, options)
    except TrainingError as exc:
        raise InvalidRequest(exc.field, exc.value, exc.reason) from exc
