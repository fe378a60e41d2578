"""The alert rules and the Grafana dashboard only name metrics that the code exports."""

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXPORTERS = [
    "common/metrics.py",
    "processors/gauges.py",
    "processors/reconciler.py",
    "processors/relay.py",
    "gateway/metrics.py",
]
NAME = re.compile(r"\b((?:billing|gateway)_[a-z_]+)")
SUFFIXES = re.compile(r"_(total|bucket|count|sum)$")


def exported() -> set[str]:
    source = "\n".join((ROOT / p).read_text() for p in EXPORTERS)
    return set(re.findall(r'"((?:billing|gateway)_[a-z_]+)"', source))


def names_in(exprs: list[str]) -> set[str]:
    return {SUFFIXES.sub("", name) for expr in exprs for name in NAME.findall(expr)}


def rule_exprs() -> list[str]:
    rules = yaml.safe_load((ROOT / "infra/prometheus/alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((ROOT / "infra/grafana/dashboards/billing.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def test_alert_rules_name_only_exported_metrics() -> None:
    used = names_in(rule_exprs())
    assert used, "no billing metric found in the rules"
    assert used <= exported(), sorted(used - exported())


def test_dashboard_names_only_exported_metrics_and_uses_the_provisioned_datasource() -> None:
    used = names_in(dashboard_exprs())
    assert used <= exported(), sorted(used - exported())
    datasource = yaml.safe_load(
        (ROOT / "infra/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]["uid"]
    dashboard = json.loads((ROOT / "infra/grafana/dashboards/billing.json").read_text())
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {datasource}
