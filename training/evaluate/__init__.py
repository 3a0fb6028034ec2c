"""Evaluating a trained LoRA: what `dgx-pixels train eval` measures and the report it writes.

The pure parts live here; the generations they measure are run by the service
(`orchestrator.service.train_eval`), the one place that talks to backends:

- `convergence`: the validation-loss verdict (slope over the last evaluations);
- `similarity`: SSIM/PSNR of a generated sprite against a held-out image (scikit-image);
- `lpips`: LPIPS (AlexNet) from weights the user gives, in plain torch; none: no figure;
- `pixel_metrics`: grid confidence, colour count, palette distance to the training set and
  pixelize round-trip error, all from the pixel core;
- `inputs`: the prompts file, the held-out folder and the training palette, checked;
- `assess`: every measurement of one base-vs-LoRA grid, as one `Evaluation`;
- `report`: `report.html` with its PNG plots and `report.json`, in one folder.

Importing the package loads nothing heavy (scikit-image, matplotlib and torch load on use).
"""

from __future__ import annotations

__all__: list[str] = []
