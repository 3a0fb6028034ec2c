"""docker/grafana: the provisioned datasource and the "Generation", "GPU" and "Training"
dashboards. Every panel's PromQL goes through a real PromQL parser and may name only a
metric we export (derived from the metric families) or one our dcgm-exporter exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_tools import COMPOSE_FILE
from grafana_queries import (
    DASHBOARDS_DIR,
    PanelQuery,
    dashboard_queries,
    dcgm_fields,
    exported_series,
    label_problems,
    load_dashboards,
    metric_names,
)

from engine.server import metrics as engine_metrics
from orchestrator.service import metrics as daemon_metrics

PROVISIONING = DASHBOARDS_DIR.parent / "provisioning"
QUERIES = dashboard_queries()


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _names_in(title: str) -> set[str]:
    return {name for q in QUERIES if q.dashboard == title for name in metric_names(q.expr)}


def test_the_three_dashboards_are_there_with_their_own_uids() -> None:
    boards = load_dashboards().values()
    assert sorted(b["title"] for b in boards) == ["GPU", "Generation", "Training"]
    assert len({b["uid"] for b in boards}) == 3


def test_panels_have_unique_ids_and_fit_grafanas_24_column_grid() -> None:
    for board in load_dashboards().values():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), board["title"]
        cells: set[tuple[int, int]] = set()
        for panel in board["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, (board["title"], panel["title"])
            area = {
                (x, y)
                for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])
            }
            assert not cells & area, f"{board['title']} / {panel['title']} overlaps a panel"
            cells |= area


def test_every_panel_has_a_query_on_the_provisioned_datasource() -> None:
    (source,) = _yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    for board in load_dashboards().values():
        assert board["panels"], board["title"]
        for panel in board["panels"]:
            where = f"{board['title']} / {panel['title']}"
            assert panel["targets"], f"{where} has no query"
            for target in [panel, *panel["targets"]]:
                assert target["datasource"]["uid"] == source["uid"], where
            assert all(t["expr"].strip() for t in panel["targets"]), where


def _mounts(service: str) -> dict[str, str]:
    """Container path -> host path of the service's bind mounts in docker/compose.yaml."""
    volumes = _yaml(COMPOSE_FILE)["services"][service]["volumes"]
    pairs = (str(volume).split(":")[:2] for volume in volumes)
    return {target: source for source, target in pairs}


def test_compose_mounts_the_provisioning_and_the_folder_the_provider_loads() -> None:
    (provider,) = _yaml(PROVISIONING / "dashboards" / "dgx-pixels.yml")["providers"]
    mounts = _mounts("grafana")
    assert provider["type"] == "file"
    dashboards = mounts[provider["options"]["path"]]
    assert (COMPOSE_FILE.parent / dashboards).resolve() == DASHBOARDS_DIR
    provisioning = mounts["/etc/grafana/provisioning"]  # where Grafana reads provisioning
    assert (COMPOSE_FILE.parent / provisioning).resolve() == PROVISIONING


def test_the_datasource_points_at_the_compose_prometheus_service() -> None:
    (source,) = _yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    host, port = source["url"].removeprefix("http://").split(":")
    ports = _yaml(COMPOSE_FILE)["services"][host]["ports"]
    assert any(str(entry).endswith(f":{port}") for entry in ports), (host, port)


@pytest.mark.parametrize("query", QUERIES, ids=PanelQuery.where)
def test_every_panel_query_names_only_metrics_we_or_dcgm_export(query: PanelQuery) -> None:
    unknown = metric_names(query.expr) - exported_series() - dcgm_fields()
    assert not unknown, f"{query.where()}: {sorted(unknown)} is exported by nothing"


@pytest.mark.parametrize("query", QUERIES, ids=PanelQuery.where)
def test_every_panel_query_matches_only_labels_and_values_its_metrics_have(
    query: PanelQuery,
) -> None:
    assert not label_problems(query.expr), query.where()


def test_generation_shows_throughput_latency_per_template_queue_and_failures() -> None:
    names = _names_in("Generation")
    for family in (
        daemon_metrics.IMAGES_GENERATED,
        daemon_metrics.JOBS_QUEUED,
        daemon_metrics.JOBS_FINISHED,
        engine_metrics.QUEUE_DEPTH,
    ):
        assert family.name in names
    exprs = [q.expr for q in QUERIES if q.dashboard == "Generation"]
    percentiles = [e for e in exprs if e.startswith("histogram_quantile") and "template" in e]
    assert any(f"{daemon_metrics.PHASE_DURATION.name}_bucket" in e for e in percentiles)
    assert any('state="failed"' in e for e in exprs)


def test_gpu_shows_util_vram_power_temperature_from_our_collector_and_dcgm() -> None:
    names = _names_in("GPU")
    for family in (
        daemon_metrics.GPU_UTIL,
        daemon_metrics.GPU_MEM_USED,
        daemon_metrics.GPU_POWER,
        daemon_metrics.GPU_TEMP,
    ):
        assert family.name in names
    dcgm = {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_POWER_USAGE"}
    assert dcgm | {"DCGM_FI_DEV_GPU_TEMP"} <= names & dcgm_fields()


def test_training_shows_loss_validation_loss_and_step_time() -> None:
    names = _names_in("Training")
    assert {f.name for f in daemon_metrics.TRAINING_FAMILIES} - {
        "dgxp_train_step_duration_seconds"
    } <= names
    assert "dgxp_train_step_duration_seconds_bucket" in names


def test_documented_training_names_are_the_defined_ones() -> None:
    doc = (DASHBOARDS_DIR.parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8")
    for family in daemon_metrics.TRAINING_FAMILIES:
        assert f"`{family.name}` ({family.kind}" in doc


# --- the checker itself -------------------------------------------------------------------


def test_an_unexported_metric_is_reported() -> None:
    names = metric_names("sum(rate(dgxp_typo_total[$__rate_interval])) / dgxp_jobs_queued")
    assert names - exported_series() - dcgm_fields() == {"dgxp_typo_total"}


@pytest.mark.parametrize(
    "expr",
    [
        "sum(rate(dgxp_jobs_finished_total[5m])",  # unbalanced
        "rate(dgxp_jobs_finished_total[$gpu])",  # a variable no dashboard defines
        "dgxp_jobs_queued >",
    ],
)
def test_a_malformed_query_is_refused_by_the_parser(expr: str) -> None:
    with pytest.raises(ValueError):
        metric_names(expr)


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ('dgxp_jobs_finished_total{state="faild"}', "state is never ['faild']"),
        ('dgxp_jobs_queued{template="single_sprite"}', "has no label 'template'"),
        ('dgxp_job_phase_duration_seconds_bucket{phase=~"queued|runnin"}', "['runnin']"),
        ('dgxp_engine_prompts_total{status!="succes"}', "status is never ['succes']"),
    ],
)
def test_a_label_or_value_our_families_never_have_is_reported(expr: str, problem: str) -> None:
    (found,) = label_problems(expr)
    assert problem in found


def test_labels_prometheus_adds_and_unbounded_values_are_accepted() -> None:
    expr = (
        'dgxp_backend_up{job="dgxp-daemon", instance="x:1", backend="http://e:8188"}'
        ' + on() dgxp_job_phase_duration_seconds_bucket{le="+Inf", phase=~"run.*"}'
        ' + on() DCGM_FI_DEV_GPU_TEMP{modelName="NVIDIA H200"}'
    )
    assert label_problems(expr) == []


def test_a_selector_without_a_metric_name_is_refused() -> None:
    with pytest.raises(ValueError, match="name the metric"):
        metric_names('{__name__=~"dgxp_.*"}')


def test_every_series_type_of_a_family_counts_as_exported() -> None:
    series = exported_series()
    histogram = daemon_metrics.PHASE_DURATION.name
    assert {f"{histogram}_bucket", f"{histogram}_count", f"{histogram}_sum"} <= series
    assert histogram not in series  # a histogram has no bare series
    assert daemon_metrics.JOBS_FINISHED.name in series
