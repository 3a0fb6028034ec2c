"""Print the headline figures of a bench/throughput.py JSON, one line each (for gpu_check.sh).

python bench/throughput_summary.py bench/baselines/throughput-nvidia-h100-80gb-hbm3.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _row(name: str, fig: dict[str, Any] | None) -> str:
    if not fig or "seconds_per_image" not in fig:
        return f"{name}: {fig}"
    return (
        f"{name}: {fig['seconds_per_image']} s/img, {fig['images_per_min']} img/min, "
        f"step {fig['unet_step_ms']} ms, peak {fig['peak_vram_gib']} GiB "
        f"(reserved {fig.get('peak_reserved_gib')})"
    )


def lines(data: dict[str, Any]) -> list[str]:
    """One line per measured figure, ratios beside them; skips and errors as they are."""
    out = [f"throughput on {data['device']} (torch {data['torch']})"]
    for section, rec in data["sections"].items():
        for key, value in rec.items():
            if isinstance(value, dict) and "seconds_per_image" not in value:
                for sub, fig in value.items():
                    if isinstance(fig, dict):
                        out.append(_row(f"{section}.{key}.{sub}", fig))
                    else:
                        out.append(f"{section}.{key}.{sub} = {fig}")
            elif isinstance(value, dict):
                out.append(_row(f"{section}.{key}", value))
            elif key != "section_s":
                out.append(f"{section}.{key} = {value}")
    return out


if __name__ == "__main__":
    for line in lines(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))):
        sys.stdout.write(line + "\n")
