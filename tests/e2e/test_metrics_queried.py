"""The metrics that dashboards and alerts trust, against a running stack: after traffic, every
metric that a panel in deploy/grafana or a rule in deploy/prometheus queries is in the scraped
output of the services; the stage counters, REST and callback counters of the app that sent
moved by exactly what it sent, and the stage latency histograms by at least that."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.embedded.stack import Stack
from tests.callback_app_server import AppServer
from tests.conftest import AppUnderTest, eventually, http_client
from tests.e2e.test_callbacks import C2C_AFTER, TOKEN, configure
from tests.e2e.test_push_delivery import push_app, push_metrics
from tests.push_server import LocalServer

pytestmark = pytest.mark.stack

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC = re.compile(r"\b(tidings_[a-z0-9_]+)")
STAGE = re.compile(r'stage="([a-z_]+)"')

Samples = list[tuple[str, dict[str, str], float]]


def _exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from _exprs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _exprs(value)


def queried() -> list[str]:
    """Every PromQL expression of the dashboards and the alert rules."""
    found = [
        e for p in (DEPLOY / "grafana").glob("*.json") for e in _exprs(json.loads(p.read_text()))
    ]
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    found += list(_exprs(rules["spec"]))
    assert found, "no query found in deploy/"
    return found


async def scrape(stack: Stack) -> Samples:
    samples: Samples = []
    async with http_client(timeout=10) as http:
        for ports in stack.ports.values():
            for port in ports.metrics_ports:
                text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                for family in text_string_to_metric_families(text):
                    samples += [(s.name, s.labels, s.value) for s in family.samples]
    return samples


def stage_total(samples: Samples, stage: str, app: int) -> float:
    return sum(
        v
        for name, labels, v in samples
        if name == "tidings_stage_messages_total"
        and labels.get("stage") == stage
        and labels.get("app") == str(app)
    )


async def offline_pushes(stack: Stack) -> None:
    """On an app of its own (the stages of the main one must count its five sends only): a
    message pushed to an offline user's phone, and one to an offline user with no device."""
    app = await push_app(stack)
    await app.import_accounts("pia", "nod", "otto")
    async with app.stores() as s:
        await s.push_devices.register(app.sdkappid, "pia", "xiaomi", f"pia-{app.sdkappid}", 1)
    for to in ("pia", "nod"):
        reply = await app.rest(
            "openim",
            "sendmsg",
            {
                "From_Account": "otto",
                "To_Account": to,
                "MsgRandom": 1,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "push"}}],
            },
        )
        assert reply["ErrorCode"] == 0, reply

    async def both_handled() -> bool:
        got = await push_metrics(stack, app.sdkappid)
        return got["sent"]["xiaomi:sent"] == 1 and got["skipped"]["no_device"] == 1

    await eventually(both_handled, timeout=30)


async def test_every_queried_metric_exists_and_the_stages_count_what_was_sent(
    app: AppUnderTest, push_vendor: LocalServer
) -> None:
    await offline_pushes(app.stack)
    server = AppServer()
    server.start()
    try:
        await app.import_accounts("mia", "max")
        await configure(app, server.url, token=TOKEN, commands=[C2C_AFTER])
        mia, max_ = await app.connect("mia"), await app.connect("max")
        before = await scrape(app.stack)
        try:
            for i in range(3):
                await mia.send(to="max", text=f"ws {i}")
            for i in range(2):
                reply = await app.rest(
                    "openim",
                    "sendmsg",
                    {
                        "From_Account": "max",
                        "To_Account": "mia",
                        "MsgRandom": i,
                        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "rest"}}],
                    },
                )
                assert reply["ErrorCode"] == 0, reply

            # The callback service counts a batch once every answer is in, after the app
            # server has seen the request: wait for the counter itself, not the server.
            async def archived_and_called_back() -> Samples | None:
                samples = await scrape(app.stack)
                archived = stage_total(samples, "archive", app.sdkappid) >= 5
                counted = app_total(samples, "tidings_callback_requests_total", app.sdkappid) >= 5
                return samples if archived and counted else None

            samples = await eventually(archived_and_called_back, timeout=30)
        finally:
            await mia.close()
            await max_.close()
    finally:
        server.stop()

    names = {name for name, _, _ in samples}
    wanted = {m for expr in queried() for m in METRIC.findall(expr)}
    missing = sorted(wanted - names)
    assert not missing, f"queried by deploy/ but not exported: {missing}"
    stages = {labels.get("stage") for name, labels, _ in samples if "stage" in labels}
    wanted_stages = {s for expr in queried() for s in STAGE.findall(expr)}
    assert wanted_stages <= stages, wanted_stages - stages

    # Five sends: each stage of the path counted each once, for this app.
    for stage in ("receive", "ingest", "fanout", "archive", "deliver"):
        assert stage_total(samples, stage, app.sdkappid) == 5, stage
    # The latency histograms (from the gateway's receipt; receive is their zero) have no app
    # label, one series per stage: other apps' stragglers may add to them, so each moved by at
    # least what was sent, and "ack" (the WebSocket sender's answer) by the three WS sends.
    for stage, sent in (("ingest", 5), ("fanout", 5), ("archive", 5), ("deliver", 5), ("ack", 3)):
        moved = stage_observations(samples, stage) - stage_observations(before, stage)
        assert moved >= sent, (stage, moved)
    rest_sends = app_total(
        samples, "tidings_rest_requests_total", app.sdkappid, command="sendmsg", error_code="0"
    )
    assert rest_sends == 2
    assert app_total(samples, "tidings_callback_requests_total", app.sdkappid) == 5
    assert len(server.of(C2C_AFTER, app.sdkappid)) == 5


def stage_observations(samples: Samples, stage: str) -> float:
    return sum(
        v
        for name, labels, v in samples
        if name == "tidings_stage_latency_seconds_count" and labels.get("stage") == stage
    )


def app_total(samples: Samples, metric: str, app: int, **wanted: str) -> float:
    return sum(
        v
        for name, labels, v in samples
        if name == metric
        and labels.get("app") == str(app)
        and all(labels.get(k) == w for k, w in wanted.items())
    )
