"""Prometheus metrics shared by every service. Every series carries the SDKAppID where
it is about an app's traffic (label `app`), and the stage or topic where it is about the pipeline.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

# Milliseconds matter on the message path: buckets from 0.5 ms to 10 s.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

STAGE_MESSAGES = Counter(
    "tidings_stage_messages_total",
    "Messages that passed a pipeline stage",
    ["stage", "app", "outcome"],
)
STAGE_LATENCY = Histogram(
    "tidings_stage_latency_seconds",
    "Time from gateway receive to the end of a stage (receive, ingest, archive, fanout, "
    "deliver, push)",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "tidings_consumer_lag",
    "Records between the committed position and the high watermark",
    ["group", "topic", "partition"],
)
CONSUMER_RECORDS = Counter(
    "tidings_consumer_records_total", "Records handled by a consumer", ["group", "topic"]
)
DLQ_RECORDS = Counter(
    "tidings_dlq_records_total", "Records sent to a dead-letter topic", ["group", "topic"]
)
CONSUMER_RETRIES = Counter(
    "tidings_consumer_retries_total",
    "Batches a consumer retried after an outage (outcome failed), and retries that then "
    "succeeded (outcome recovered)",
    ["group", "outcome"],
)
CONSUMER_HALTED = Gauge(
    "tidings_consumer_halted",
    "1 when a consumer stopped after a burst of dead letters (an operator must act)",
    ["group"],
)
CONNECTIONS = Gauge("tidings_ws_connections", "Open client WebSocket sessions", ["node"])
REST_REQUESTS = Counter(
    "tidings_rest_requests_total", "REST v4 requests", ["app", "command", "error_code"]
)
REST_LATENCY = Histogram(
    "tidings_rest_latency_seconds", "REST v4 request latency", ["command"], buckets=LATENCY_BUCKETS
)
CALLBACK_REQUESTS = Counter(
    "tidings_callback_requests_total", "Callbacks to app servers", ["app", "command", "outcome"]
)
CALLBACK_LATENCY = Histogram(
    "tidings_callback_latency_seconds",
    "Callback round trip to the app server",
    ["command"],
    buckets=LATENCY_BUCKETS,
)
PUSH_SENT = Counter(
    "tidings_push_total",
    "Offline pushes to devices by vendor: sent, failed, retried, token_invalid, no_credentials",
    ["app", "vendor", "outcome"],
)
PUSH_JOBS = Counter(
    "tidings_push_jobs_total",
    "Offline recipients the router handed to the push service (one im.push record each)",
    ["app"],
)
PUSH_SKIPPED = Counter(
    "tidings_push_skipped_total",
    "Offline recipients who got no push, by reason (muted, dnd, disabled, no_device...)",
    ["app", "reason"],
)
PUSH_LATENCY = Histogram(
    "tidings_push_latency_seconds",
    "One device's push, from the first try to its outcome (retries included)",
    ["vendor"],
    buckets=LATENCY_BUCKETS,
)


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Expose /metrics on its own port (a daemon thread)."""
    if port:
        start_http_server(port, addr=host)
