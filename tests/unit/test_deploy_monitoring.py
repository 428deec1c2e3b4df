"""deploy/'s dashboards and alert rules are well formed: the Grafana dashboards are valid JSON
with the fields Grafana needs, and the PrometheusRule passes `promtool check rules` (Debian's
prometheus package) when the machine has it, or else a check of its schema. That every metric
they query exists is checked against a running stack (tests/e2e/test_metrics_queried.py)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def dashboards() -> list[Path]:
    found = sorted((DEPLOY / "grafana").glob("*.json"))
    assert found, "no dashboard in deploy/grafana"
    return found


def alert_groups() -> list[dict[str, Any]]:
    doc = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text(encoding="utf-8"))
    assert doc["kind"] == "PrometheusRule"
    groups: list[dict[str, Any]] = doc["spec"]["groups"]
    return groups


def panels(node: Any) -> list[dict[str, Any]]:
    """Every panel, those inside rows included."""
    found: list[dict[str, Any]] = []
    for panel in node.get("panels", []):
        found.append(panel)
        found.extend(panels(panel))
    return found


@pytest.mark.parametrize("path", dashboards(), ids=lambda p: p.name)
def test_each_dashboard_is_grafana_json(path: Path) -> None:
    board = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(board["uid"], str) and board["uid"]
    assert isinstance(board["title"], str) and board["title"]
    assert isinstance(board["schemaVersion"], int)
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in panels(board):
        assert panel.get("type"), panel
        if panel["type"] != "row":
            assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]
            for target in panel.get("targets", []):
                assert target.get("expr") and target.get("refId"), panel["title"]


def test_the_alert_rules_have_what_alertmanager_and_people_need() -> None:
    names = set()
    for group in alert_groups():
        assert group["name"] and group["rules"]
        for rule in group["rules"]:
            assert rule["alert"] not in names, rule["alert"]
            names.add(rule["alert"])
            assert isinstance(rule["expr"], str) and rule["expr"].strip()
            assert DURATION.match(rule.get("for", "0s")), rule["alert"]
            assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed here")
def test_promtool_checks_the_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": alert_groups()}), encoding="utf-8")
    done = subprocess.run(
        ["promtool", "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_focused_dashboards_are_what_their_generator_writes() -> None:
    """deploy/grafana's message path, callbacks, push and Kafka boards come from
    scripts/gen_dashboards.py: a hand edit of the JSON would be lost at the next run."""
    spec = importlib.util.spec_from_file_location(
        "gen_dashboards", DEPLOY.parent / "scripts" / "gen_dashboards.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up while they are made.
    sys.modules[spec.name] = generator
    spec.loader.exec_module(generator)
    stale = [
        path.name
        for path, text in generator.rendered().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"run scripts/gen_dashboards.py: {stale} differ"
