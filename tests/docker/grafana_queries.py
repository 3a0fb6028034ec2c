"""The PromQL of docker/grafana/dashboards, and the metric names it may use.

`dashboard_queries()` lists every panel target's expression; `runnable()` replaces the
variables Grafana fills in itself (`$__rate_interval` …) so Prometheus or a parser can
take the query; `metric_names()` walks the real PromQL parser's tree (`promql-parser`,
the Rust parser Prometheus-compatible tools use) for every metric a query selects.

The names a query may use are derived, never listed here: the families our processes
define (`FAMILIES` of the daemon and of the engine, `TRAINING_FAMILIES`), expanded into the
series prometheus-client exposes for each type, and the DCGM fields our dcgm-exporter
exports (`docker/dcgm-exporter/counters.csv`, which links DCGM's field documentation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser

from engine.server import metrics as engine_metrics
from orchestrator.service import metrics as daemon_metrics

__all__ = [
    "DASHBOARDS_DIR",
    "DCGM_COUNTERS",
    "PanelQuery",
    "dashboard_queries",
    "dcgm_fields",
    "exported_series",
    "label_problems",
    "metric_names",
    "runnable",
]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS_DIR = ROOT / "docker" / "grafana" / "dashboards"
DCGM_COUNTERS = ROOT / "docker" / "dcgm-exporter" / "counters.csv"

# Grafana's own variables: what each one stands for when a panel runs. A query with any
# other `$variable` is refused by the parser, so dashboards cannot lean on undefined ones.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "6h",
}

# The series prometheus-client exposes for one family of each type.
SERIES_SUFFIXES = {
    "counter": ("", "_created"),  # a counter's name already ends in _total
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
}


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel."""

    dashboard: str
    panel: str
    expr: str

    def where(self) -> str:
        """`dashboard / panel` for messages."""
        return f"{self.dashboard} / {self.panel}"


def _panels(panels: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # a row's collapsed panels


def load_dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard JSON by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARDS_DIR.glob("*.json"))
    }


def dashboard_queries() -> list[PanelQuery]:
    """Every panel target's `expr`, in file and panel order."""
    return [
        PanelQuery(board["title"], panel["title"], target["expr"])
        for board in load_dashboards().values()
        for panel in _panels(board["panels"])
        for target in panel.get("targets", [])
    ]


def runnable(expr: str) -> str:
    """`expr` with Grafana's own variables filled in."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def _selectors(expr: str) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name is None:
                raise ValueError(f"{expr!r} selects by matchers only: name the metric")
            found.append(node)

    promql_parser.walk(promql_parser.parse(runnable(expr)), visit)
    return found


def metric_names(expr: str) -> set[str]:
    """Every metric `expr` selects (raises ValueError if it does not parse)."""
    return {selector.name for selector in _selectors(expr) if selector.name is not None}


def label_problems(expr: str) -> list[str]:
    """Matchers of `expr` on our series that name a label the family lacks, or a value
    outside that label's vocabulary (`state="faild"`). DCGM series are not checked."""
    labels = _labels_by_series()
    problems = []
    for selector in _selectors(expr):
        allowed = labels.get(selector.name or "")
        if allowed is None:  # a DCGM field
            continue
        for matcher in selector.matchers.matchers:
            if matcher.name not in allowed:
                problems.append(f"{selector.name} has no label {matcher.name!r}")
                continue
            vocabulary = LABEL_VALUES.get(matcher.name)  # None: any value (backend, gpu …)
            unknown = _matched_values(matcher) - vocabulary if vocabulary is not None else set()
            if unknown:
                problems.append(f"{selector.name}: {matcher.name} is never {sorted(unknown)}")
    return problems


# The bounded label values of our families, from the registries that define them.
LABEL_VALUES: dict[str, frozenset[str]] = {
    "state": frozenset(daemon_metrics.FINAL_STATES),
    "phase": frozenset(daemon_metrics.Phase),
    "reason": frozenset(daemon_metrics.THROTTLE_REASONS),
    "source": frozenset(daemon_metrics.MEMORY_SOURCES),
    "query": frozenset(daemon_metrics.NVML_QUERIES),
    "status": frozenset(engine_metrics.PROMPT_STATUSES),
    "part": frozenset(engine_metrics.COMPILED_PARTS),
}


def _matched_values(matcher: promql_parser.Matcher) -> set[str]:
    """The values a matcher names: its value, or a regex's plain alternatives (a|b)."""
    if matcher.op in (promql_parser.MatchOp.Equal, promql_parser.MatchOp.NotEqual):
        return {matcher.value}
    parts = matcher.value.split("|")
    return set(parts) if all(re.fullmatch(r"[a-z0-9_]+", part) for part in parts) else set()


def _labels_by_series() -> dict[str, set[str]]:
    """Each of our series' label names, with the ones Prometheus adds (job, instance)."""
    return {
        _series(family.name, suffix): {*family.labels, "job", "instance"}
        | ({"le"} if suffix == "_bucket" else set())
        for family in _families()
        for suffix in SERIES_SUFFIXES[family.kind]
    }


def _families() -> tuple[daemon_metrics.Family | engine_metrics.Family, ...]:
    return (
        *daemon_metrics.FAMILIES,
        *daemon_metrics.TRAINING_FAMILIES,
        *engine_metrics.FAMILIES,
    )


def exported_series() -> set[str]:
    """Every series name the daemon and the engine expose (and training will)."""
    return {
        _series(family.name, suffix)
        for family in _families()
        for suffix in SERIES_SUFFIXES[family.kind]
    }


def _series(family: str, suffix: str) -> str:
    # prometheus-client names a counter's creation time without the counter's _total
    return family.removesuffix("_total") + suffix if suffix == "_created" else family + suffix


def dcgm_fields() -> set[str]:
    """The DCGM_FI_* fields our dcgm-exporter counters file exports."""
    rows = DCGM_COUNTERS.read_text(encoding="utf-8").splitlines()
    return {
        line.split(",", 1)[0].strip()
        for line in rows
        if re.match(r"\s*DCGM_FI_", line)  # comment lines start with '#'
    }
