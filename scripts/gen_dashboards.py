"""Write the focused Grafana dashboards of deploy/grafana (message path, callbacks, push, Kafka)
from the compact specs below, in the same shape as the hand-kept overview (its templating: a
Prometheus data source, `service` and `app`). Run it after changing a spec; a unit test fails
when the committed JSON is not what this writes.

    python scripts/gen_dashboards.py
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GRAFANA = Path(__file__).resolve().parent.parent / "deploy" / "grafana"
OVERVIEW = GRAFANA / "tidings-overview.json"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
SEL = 'app=~"$app", service=~"$service"'
SVC = 'service=~"$service"'


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "ops"
    description: str = ""
    width: int = 12
    stacked: bool = False


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Board:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...] = field(default_factory=tuple)


def p99(metric: str, by: str, where: str) -> str:
    return (
        f"histogram_quantile(0.99, sum by (le, {by}) "
        f"(rate({metric}_bucket{{{where}}}[$__rate_interval])))"
    )


def p50(metric: str, by: str, where: str) -> str:
    return p99(metric, by, where).replace("0.99", "0.5", 1)


def rate(metric: str, by: str, where: str) -> str:
    return f"sum by ({by}) (rate({metric}{{{where}}}[$__rate_interval]))"


STAGES = "receive|ingest|fanout|archive|deliver|push"

BOARDS = (
    Board(
        "tidings-message-path",
        "Tidings message path",
        "Each stage of a message, gateway receive to delivery and push: rates, outcomes, "
        "latency from the gateway's receipt.",
        (
            Row(
                "Throughput",
                (
                    Panel(
                        "Messages/s by stage",
                        ((rate("tidings_stage_messages_total", "stage", SEL), "{{stage}}"),),
                    ),
                    Panel(
                        "Outcomes/s other than ok",
                        (
                            (
                                rate(
                                    "tidings_stage_messages_total",
                                    "stage, outcome",
                                    f'{SEL}, outcome!="ok"',
                                ),
                                "{{stage}} {{outcome}}",
                            ),
                        ),
                        stacked=True,
                    ),
                ),
            ),
            Row(
                "Latency from the gateway's receipt",
                (
                    Panel(
                        "p50 by stage",
                        (
                            (
                                p50(
                                    "tidings_stage_latency_seconds",
                                    "stage",
                                    f'stage=~"{STAGES}", {SVC}',
                                ),
                                "{{stage}}",
                            ),
                        ),
                        unit="s",
                    ),
                    Panel(
                        "p99 by stage",
                        (
                            (
                                p99(
                                    "tidings_stage_latency_seconds",
                                    "stage",
                                    f'stage=~"{STAGES}", {SVC}',
                                ),
                                "{{stage}}",
                            ),
                        ),
                        unit="s",
                    ),
                ),
            ),
            Row(
                "Clients",
                (
                    Panel(
                        "WebSocket sessions by node",
                        (("sum by (node) (tidings_ws_connections{" + SVC + "})", "{{node}}"),),
                        unit="short",
                    ),
                    Panel(
                        "REST v4 errors/s by command and code",
                        (
                            (
                                rate(
                                    "tidings_rest_requests_total",
                                    "command, error_code",
                                    f'{SEL}, error_code!="0"',
                                ),
                                "{{command}} {{error_code}}",
                            ),
                        ),
                    ),
                ),
            ),
        ),
    ),
    Board(
        "tidings-callbacks",
        "Tidings callbacks",
        "Callbacks to app servers: rate and outcome by command, latency, the retry topic "
        "and the dead letters.",
        (
            Row(
                "Callbacks",
                (
                    Panel(
                        "Callbacks/s by outcome",
                        ((rate("tidings_callback_requests_total", "outcome", SEL), "{{outcome}}"),),
                        stacked=True,
                    ),
                    Panel(
                        "Callbacks/s by command",
                        ((rate("tidings_callback_requests_total", "command", SEL), "{{command}}"),),
                    ),
                    Panel(
                        "Latency p50 / p99 by command",
                        (
                            (
                                p50("tidings_callback_latency_seconds", "command", SVC),
                                "p50 {{command}}",
                            ),
                            (
                                p99("tidings_callback_latency_seconds", "command", SVC),
                                "p99 {{command}}",
                            ),
                        ),
                        unit="s",
                        width=24,
                    ),
                ),
            ),
            Row(
                "Retries and dead letters",
                (
                    Panel(
                        "Retry topics' lag",
                        (
                            (
                                "sum by (group) (tidings_consumer_lag"
                                '{topic=~"im.callbacks.retry(.slow)?", ' + SVC + "})",
                                "{{group}}",
                            ),
                        ),
                        unit="short",
                    ),
                    Panel(
                        "Dead-lettered/s",
                        (
                            (
                                rate("tidings_dlq_records_total", "group, topic", SVC),
                                "{{group}} {{topic}}",
                            ),
                        ),
                    ),
                ),
            ),
        ),
    ),
    Board(
        "tidings-push",
        "Tidings offline push",
        "Offline push: recipients handed over by the router, outcomes by vendor, why nothing "
        "was sent, vendor latency, and the time from the gateway's receipt to the push.",
        (
            Row(
                "Volume",
                (
                    Panel(
                        "Offline recipients/s (push jobs)",
                        ((rate("tidings_push_jobs_total", "app", SEL), "{{app}}"),),
                    ),
                    Panel(
                        "Pushes/s by vendor and outcome",
                        (
                            (
                                rate("tidings_push_total", "vendor, outcome", SEL),
                                "{{vendor}} {{outcome}}",
                            ),
                        ),
                        stacked=True,
                    ),
                    Panel(
                        "Not pushed/s by reason",
                        ((rate("tidings_push_skipped_total", "reason", SEL), "{{reason}}"),),
                        stacked=True,
                    ),
                    Panel(
                        "Invalid tokens removed/s by vendor",
                        (
                            (
                                rate(
                                    "tidings_push_total",
                                    "vendor",
                                    f'{SEL}, outcome="token_invalid"',
                                ),
                                "{{vendor}}",
                            ),
                        ),
                    ),
                ),
            ),
            Row(
                "Latency",
                (
                    Panel(
                        "Vendor p50 / p99 (retries included)",
                        (
                            (p50("tidings_push_latency_seconds", "vendor", SVC), "p50 {{vendor}}"),
                            (p99("tidings_push_latency_seconds", "vendor", SVC), "p99 {{vendor}}"),
                        ),
                        unit="s",
                    ),
                    Panel(
                        "Gateway receipt to push, p50 / p99",
                        (
                            (
                                p50(
                                    "tidings_stage_latency_seconds", "stage", f'stage="push", {SVC}'
                                ),
                                "p50",
                            ),
                            (
                                p99(
                                    "tidings_stage_latency_seconds", "stage", f'stage="push", {SVC}'
                                ),
                                "p99",
                            ),
                        ),
                        unit="s",
                    ),
                ),
            ),
        ),
    ),
    Board(
        "tidings-kafka",
        "Tidings Kafka consumers",
        "Every consumer group of the services: lag per partition, records handled, batch "
        "retries, halted consumers and dead letters.",
        (
            Row(
                "Lag",
                (
                    Panel(
                        "Lag by group and topic",
                        (
                            (
                                "sum by (group, topic) (tidings_consumer_lag{" + SVC + "})",
                                "{{group}} {{topic}}",
                            ),
                        ),
                        unit="short",
                        width=24,
                    ),
                    Panel(
                        "Lag by partition (top 10)",
                        (
                            (
                                "topk(10, sum by (group, topic, partition) "
                                "(tidings_consumer_lag{" + SVC + "}))",
                                "{{group}} {{topic}}/{{partition}}",
                            ),
                        ),
                        unit="short",
                        width=24,
                    ),
                ),
            ),
            Row(
                "Work",
                (
                    Panel(
                        "Records handled/s by group",
                        (
                            (
                                rate("tidings_consumer_records_total", "group, topic", SVC),
                                "{{group}} {{topic}}",
                            ),
                        ),
                    ),
                    Panel(
                        "Batch retries/s by outcome",
                        (
                            (
                                rate("tidings_consumer_retries_total", "group, outcome", SVC),
                                "{{group}} {{outcome}}",
                            ),
                        ),
                    ),
                    Panel(
                        "Halted consumers",
                        (("sum by (group) (tidings_consumer_halted{" + SVC + "})", "{{group}}"),),
                        unit="short",
                    ),
                    Panel(
                        "Dead-lettered/s",
                        (
                            (
                                rate("tidings_dlq_records_total", "group, topic", SVC),
                                "{{group}} {{topic}}",
                            ),
                        ),
                    ),
                ),
            ),
        ),
    ),
)


def target(expr: str, legend: str, ref: str) -> dict[str, Any]:
    return {
        "datasource": DATASOURCE,
        "refId": ref,
        "expr": expr,
        "legendFormat": legend,
        "range": True,
        "editorMode": "code",
    }


def timeseries(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    custom: dict[str, Any] = {
        "drawStyle": "line",
        "lineWidth": 1,
        "fillOpacity": 30 if panel.stacked else 10,
        "showPoints": "never",
        "spanNulls": False,
    }
    if panel.stacked:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    return {
        "type": "timeseries",
        "id": panel_id,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": panel.width, "x": x, "y": y},
        "targets": [
            target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(panel.exprs)
        ],
        "fieldConfig": {
            "defaults": {
                "unit": panel.unit,
                "custom": custom,
                "color": {"mode": "palette-classic"},
                "min": 0,
            },
            "overrides": [],
        },
        "options": {
            "legend": {
                "showLegend": True,
                "displayMode": "table",
                "placement": "bottom",
                "calcs": ["mean", "max", "lastNotNull"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def build(board: Board, frame: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(frame)
    out.update(uid=board.uid, title=board.title, description=board.description)
    panels: list[dict[str, Any]] = []
    y, next_id = 0, 1
    for row in board.rows:
        panels.append(
            {
                "type": "row",
                "id": next_id,
                "title": row.title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        next_id, y, x = next_id + 1, y + 1, 0
        for panel in row.panels:
            if x + panel.width > 24:
                x, y = 0, y + 8
            panels.append(timeseries(panel, next_id, x, y))
            next_id, x = next_id + 1, x + panel.width
        y += 8
    out["panels"] = panels
    return out


def rendered() -> dict[Path, str]:
    """Each dashboard's file and the JSON this writes there."""
    frame = {k: v for k, v in json.loads(OVERVIEW.read_text()).items() if k != "panels"}
    return {
        GRAFANA / f"{board.uid}.json": json.dumps(build(board, frame), indent=2) + "\n"
        for board in BOARDS
    }


def main() -> None:
    for path, text in rendered().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(GRAFANA.parent.parent)}")


if __name__ == "__main__":
    main()
