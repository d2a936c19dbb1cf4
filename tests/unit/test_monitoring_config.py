"""deploy/prometheus and deploy/grafana: valid for promtool, and every Lawlink figure they name is
one the services export (a renamed metric must not leave an alert that can never fire)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.intake.metrics import IntakeMetrics
from services.metrics import ServiceMetrics
from services.notifier.metrics import notifier_metrics
from services.readmodel.db import make_engine
from services.registry.metrics import ReadModelMetrics
from tests.servers import migrated

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "lawlink-dashboard.json"
_NAME = re.compile(r"\blawlink_[a-z_]+")
_SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return found


def test_promtool_accepts_the_scrape_config_and_the_alert_rules(tmp_path: Path) -> None:
    promtool = _promtool()
    # The config names the credential file Prometheus reads; promtool wants it to exist.
    credential = tmp_path / "lawlink-credential"
    credential.write_text("prometheus.x\n")
    config = (
        (PROMETHEUS / "prometheus.yml")
        .read_text()
        .replace("/etc/prometheus/lawlink-credential", str(credential))
    )
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    for args in (
        ["check", "config", str(tmp_path / "prometheus.yml")],
        ["check", "rules", str(tmp_path / "alerts.yml")],
    ):
        done = subprocess.run([promtool, *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def _exported(tmp_path: Path) -> set[str]:
    """The family names the services' registries export (empty database: every family shows)."""
    engine = make_engine(migrated(f"sqlite:///{tmp_path / 'read.db'}"))
    names: set[str] = set()
    for service in ("intake", "registry", "notifier", "console"):
        metrics = ServiceMetrics(service)
        if service == "intake":
            IntakeMetrics(metrics)
        if service == "registry":
            ReadModelMetrics(metrics, lambda: engine)
        if service == "notifier":
            notifier_metrics(metrics, lambda: engine)
        text = generate_latest(metrics.registry).decode()
        names |= {family.name for family in text_string_to_metric_families(text)}
    engine.dispose()
    return names


def _base(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def test_every_figure_the_alerts_and_the_dashboard_use_is_exported(tmp_path: Path) -> None:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads(DASHBOARD.read_text())
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {_base(name) for expr in exprs for name in _NAME.findall(expr)}
    assert used, "the alerts and the dashboard name no Lawlink figure"
    missing = used - _exported(tmp_path)
    assert not missing, f"named in deploy/ but exported by no service: {sorted(missing)}"
    # Each alert says what to do, not only what is wrong.
    assert all(rule["annotations"].get("description") for group in rules["groups"] for rule in group["rules"])
