"""What a team deploys (deploy/): Prometheus's own tools check the config and the rules, and
run the rules' unit tests; the Grafana dashboard asks only for metrics that exist."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from programs import need

from ratelimit_tui.metrics.exposition import METRICS

DEPLOY = Path(__file__).parent.parent / "deploy"


@pytest.mark.parametrize("args", [
    ("check", "config", "prometheus.yml"),
    ("check", "rules", "alerts.yml"),
    ("test", "rules", "alerts_test.yml"),  # each alert fires when it should, not before
])
def test_promtool_accepts_it(args):
    result = subprocess.run([need("promtool"), *args], cwd=DEPLOY, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def test_the_dashboard_asks_for_metrics_that_exist():
    exported = {name + ("_total" if kind == "counter" else "")
                for name, (kind, _) in METRICS.items()}
    expressions = dashboard_expressions()
    assert len(expressions) >= 5
    for expr in expressions:
        asked = set(re.findall(r"\bratelimit_[a-z_]+", expr))
        assert asked and asked <= exported, expr
