"""docs/metrics.md lists exactly the families each process defines, with their type and
labels, and every family name follows the conventions (prefix, unit or `_total`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.server import metrics as engine_metrics
from orchestrator.service import metrics as daemon_metrics

DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
ROW = re.compile(r"^\| `(dgxp_[a-z_]+)` \| (counter|gauge|histogram) \|([a-z, ]*)\|", re.M)
UNITS = ("_seconds", "_bytes", "_watts", "_celsius", "_hertz", "_ratio", "_total")
COUNT_GAUGES = {  # gauges whose unit is a count of things, named by the things counted
    "dgxp_jobs_queued",
    "dgxp_jobs_in_flight",
    "dgxp_backend_up",
    "dgxp_daemon_healthy",
    "dgxp_gpu_info",
    "dgxp_gpu_throttle_active",
    "dgxp_engine_queue_pending_prompts",
}


def _documented() -> dict[str, tuple[str, tuple[str, ...]]]:
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    return {
        name: (kind, tuple(x.strip() for x in labels.split(",") if x.strip()))
        for name, kind, labels in rows
    }


def _defined() -> dict[str, tuple[str, tuple[str, ...]]]:
    found: dict[str, tuple[str, tuple[str, ...]]] = {
        f.name: (f.kind, f.labels) for f in daemon_metrics.FAMILIES
    }
    found.update({f.name: (f.kind, f.labels) for f in engine_metrics.FAMILIES})
    return found


def test_the_doc_lists_every_family_with_its_type_and_labels() -> None:
    assert _documented() == _defined()


@pytest.mark.parametrize("name", sorted(_defined()))
def test_family_names_carry_the_prefix_and_a_unit(name: str) -> None:
    kind, _ = _defined()[name]
    assert name.startswith("dgxp_")
    assert name.endswith("_total") == (kind == "counter"), name
    assert name.endswith(UNITS) or name in COUNT_GAUGES, name


def test_no_family_is_labelled_by_prompt_or_job_id() -> None:
    labels = {label for _, labels in _defined().values() for label in labels}
    assert not labels & {"prompt", "job", "job_id", "prompt_id", "seed"}
