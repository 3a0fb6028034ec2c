"""docker/prometheus passes the real `promtool`: the config and the alert rules check, every
alert's unit tests pass (each alert fires on one series and stays quiet on another), and a
malformed copy of either file is refused, so a broken file in the repo fails the test
command rather than a user's deployment. Its targets are docker/compose.yaml services on
ports they serve, and its alerts name only metrics something exports."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from compose_tools import COMPOSE_FILE
from grafana_queries import dcgm_fields, exported_series, label_problems, metric_names
from prometheus_tools import PROMETHEUS_DIR, promtool, require_binary

CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = PROMETHEUS_DIR / "alerts.test.yml"
MONITORING_DOC = PROMETHEUS_DIR.parents[1] / "docs" / "monitoring.md"
PROMETHEUS_OWN = {"up"}  # the series Prometheus writes for every target it scrapes


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _rules() -> list[dict[str, Any]]:
    return [rule for group in _yaml(RULES)["groups"] for rule in group["rules"]]


def _alert_names() -> list[str]:
    return [rule["alert"] for rule in _rules()]


def _series_labels(series: str) -> dict[str, str]:
    """Labels of a promtool input series such as `up{job="x", instance="y"}`."""
    body = series.partition("{")[2].rstrip("}")
    pairs = (item.split("=", 1) for item in body.split(",") if item.strip())
    return {key.strip(): value.strip().strip('"') for key, value in pairs}


def _is_quiet(series: dict[str, str], expected: list[dict[str, Any]]) -> bool:
    """True when no expected alert can come from `series` (a label value differs)."""
    return all(
        any(key in series and series[key] != str(value) for key, value in alert.items())
        for alert in expected
    )


def test_prometheus_config_passes_promtool_check_config() -> None:
    result = promtool("check", "config", CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alert_rules_pass_promtool_check_rules() -> None:
    result = promtool("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(_alert_names())} rules found" in result.stdout


def test_alert_unit_tests_pass_promtool_test_rules() -> None:
    result = promtool("test", "rules", RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("alert", _alert_names())
def test_every_alert_has_a_firing_and_a_quiet_unit_test(alert: str) -> None:
    fires, quiet = False, False
    for case in _yaml(RULE_TESTS)["tests"]:
        checks = [c for c in case.get("alert_rule_test", []) if c["alertname"] == alert]
        expected = [a["exp_labels"] for c in checks for a in c["exp_alerts"]]
        fires = fires or bool(expected)
        series = [_series_labels(s["series"]) for s in case["input_series"]] if checks else []
        quiet = quiet or any(_is_quiet(labels, expected) for labels in series if expected)
    assert fires, f"{alert}: no unit test in {RULE_TESTS.name} expects it to fire"
    assert quiet, f"{alert}: no unit test in {RULE_TESTS.name} has a series it must ignore"


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_every_alert_names_only_metrics_we_dcgm_or_prometheus_export(rule: dict[str, Any]) -> None:
    known = exported_series() | dcgm_fields() | PROMETHEUS_OWN
    assert metric_names(rule["expr"]) <= known, sorted(metric_names(rule["expr"]) - known)


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_every_alert_matches_only_labels_and_values_its_metrics_have(rule: dict[str, Any]) -> None:
    assert not label_problems(rule["expr"])


def test_target_down_alert_watches_jobs_the_config_scrapes() -> None:
    (rule,) = [r for r in _rules() if r["alert"] == "DgxpMetricsTargetDown"]
    jobs = {job["job_name"] for job in _yaml(CONFIG)["scrape_configs"]}
    comparison = promql_parser.parse(rule["expr"])  # up{job=~"a|b"} == 0
    assert isinstance(comparison, promql_parser.BinaryExpr)
    assert isinstance(comparison.lhs, promql_parser.VectorSelector)
    (matcher,) = comparison.lhs.matchers.matchers
    watched = set(matcher.value.split("|"))
    assert watched <= jobs, watched - jobs
    assert "dcgm-exporter" not in watched  # down by design without the gpu profile


def _container_ports(service: dict[str, Any]) -> set[str]:
    """The container side of each `ports` entry (`127.0.0.1:${X:-9464}:9464` -> 9464)."""
    return {str(entry).rsplit(":", 1)[-1] for entry in service.get("ports", [])}


def test_config_scrapes_compose_services_on_the_ports_they_serve() -> None:
    services = _yaml(COMPOSE_FILE)["services"]
    jobs = {job["job_name"]: job for job in _yaml(CONFIG)["scrape_configs"]}
    assert set(jobs) == {"dgxp-daemon", "dgxp-engine", "dcgm-exporter"}
    for name, job in jobs.items():
        for target in (t for config in job["static_configs"] for t in config["targets"]):
            host, port = target.split(":")
            assert host in services, f"{name}: {host} is no service of {COMPOSE_FILE.name}"
            assert port in _container_ports(services[host]), f"{name}: {host} serves no {port}"
    assert _yaml(CONFIG)["rule_files"] == [RULES.name]


def _copy_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    for path in (CONFIG, RULES, RULE_TESTS):
        shutil.copy(path, tmp_path / path.name)
    target = tmp_path / name
    text = target.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {name}: the malformed-file test needs updating"
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def test_a_malformed_config_fails_promtool_check_config(tmp_path: Path) -> None:
    broken = _copy_with(tmp_path, CONFIG.name, "scrape_interval: 15s", "scrape_interval: soon")
    result = promtool("check", "config", broken, cwd=tmp_path)
    assert result.returncode != 0
    assert "soon" in result.stdout + result.stderr


def test_a_rule_with_bad_promql_fails_promtool_check_config_and_rules(tmp_path: Path) -> None:
    broken = _copy_with(tmp_path, RULES.name, "dgxp_backend_up == 0", "dgxp_backend_up == (0")
    for command in ("config", "rules"):
        target = broken if command == "rules" else tmp_path / CONFIG.name
        result = promtool("check", command, target, cwd=tmp_path)
        assert result.returncode != 0, command
        assert "parse error" in result.stdout + result.stderr


def test_a_changed_threshold_fails_the_alert_unit_tests(tmp_path: Path) -> None:
    _copy_with(tmp_path, RULES.name, "> 0.9", "> 0.95")
    result = promtool("test", "rules", tmp_path / RULE_TESTS.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "DgxpDataDiskAlmostFull" in result.stdout + result.stderr


def test_a_missing_prometheus_tool_fails_the_test_naming_the_package() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y prometheus"):
        require_binary("promtool-not-installed")


def test_docs_monitoring_lists_exactly_the_alerts_of_the_rules_file() -> None:
    documented = re.findall(r"^\| `(\w+)` \|", MONITORING_DOC.read_text(encoding="utf-8"), re.M)
    assert documented == _alert_names()
