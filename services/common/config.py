"""The one config tree. Every field is read from a `TIDINGS_*` environment variable."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIDINGS_", extra="ignore")

    data_dir: Path = Path(".tidings")
    log_format: Literal["json", "console"] = "json"
    log_level: str = "info"
    node_id: str = Field(default_factory=_default_node_id)
    # The host other processes use to reach this one (gRPC advertise address).
    advertise_host: str = "127.0.0.1"
    bind_host: str = "127.0.0.1"

    # Kafka. An empty bootstrap means "start the embedded broker" (only `tidings up` does).
    kafka_bootstrap: str = ""
    kafka_partitions: int = 4
    kafka_replication: int = 1
    # aiokafka's idempotent producer needs InitProducerId v1+, which the embedded Tansu lacks.
    kafka_idempotence: bool = False
    kafka_linger_ms: int = 2
    kafka_fetch_max_wait_ms: int = 5
    # Bytes a fetch waits for (up to the fetch wait) before the broker answers. Tansu's cost
    # follows its requests: fuller fetches mean fewer of them.
    kafka_fetch_min_bytes: int = Field(default=1, ge=1)
    # Consumers off the send path (callbacks, push) poll less often: an idle consumer at 5 ms
    # asks the broker 200 times a second. Tansu answers early when data comes, ~17 ms at 100.
    kafka_background_fetch_max_wait_ms: int = 100
    # An idle consumer's fetch wait doubles up to this, so a stack at rest does not ask the
    # broker hundreds of times a second for nothing; records flowing bring it back at once.
    kafka_idle_fetch_max_wait_ms: int = 250
    # The same for consumers off the send path, which an idle stack has most of (callbacks,
    # push, the event log, monitoring, the archive): their first record after a quiet spell may
    # wait up to about half of this on Tansu, which nobody on the message path waits for.
    kafka_background_idle_fetch_max_wait_ms: int = 1000
    kafka_max_batch: int = 500
    # "group": Kafka consumer groups (production). "static": this instance owns the partitions
    # p with p % instance_count == instance_index, with offsets still committed under the group id.
    kafka_assignment: Literal["group", "static"] = "group"
    kafka_commit_interval_ms: int = 200
    instance_index: int = 0
    instance_count: int = 1
    # More dead letters than this within the window halt the consumer and alert: a bug that
    # makes every record poison must not drain a topic into its DLQ.
    dlq_burst_limit: int = Field(default=100, ge=1)
    dlq_burst_window_s: float = Field(default=60.0, gt=0)

    redis_url: str = ""
    # A Redis Cluster: scripts then take keys of one slot per call (ingest splits its batch).
    redis_cluster: bool = False
    # Recent history in Redis (services/common/recent.py): per conversation, every message
    # not archived yet (at most `cap`) and the last `keep` archived; per user, the latest
    # `user_index_size` C2C conversations. Both expire `ttl_s` after their last message.
    recent_tail_keep: int = Field(default=20, ge=0)
    recent_tail_cap: int = Field(default=2000, ge=1)
    recent_ttl_s: int = Field(default=3600, ge=60)
    recent_user_index_size: int = Field(default=100, ge=1)

    store: Literal["sqlite", "cassandra"] = "sqlite"
    cassandra_hosts: str = ""
    cassandra_keyspace: str = "tidings"

    # Listening ports of this process (0 = not served). `tidings up` assigns them.
    http_port: int = 0
    ws_port: int = 0
    grpc_port: int = 0
    metrics_port: int = 0
    # Gateway processes on this host, one per core: they share the WebSocket and HTTP ports
    # (SO_REUSEPORT); each is a node of its own, worker i on grpc_port + i and metrics_port + i
    # with node id "<node_id>-w<i>" (services/gateway/workers.py). `tidings up` sets the number
    # of cores.
    gateway_workers: int = Field(default=1, ge=1)
    # Set by the gateway's parent process for each worker it starts (not by hand).
    gateway_worker: int = -1

    # Peers, host:port.
    callback_addr: str = ""
    history_addr: str = ""
    push_addr: str = ""

    # How long a gateway waits for the router's outcome before answering "timeout".
    send_timeout_s: float = 10.0
    dedupe_ttl_s: int = 86400
    max_body_bytes: int = 12 * 1024
    max_http_body_bytes: int = 1024 * 1024
    ws_max_frame_bytes: int = 64 * 1024
    # Frames one WebSocket connection may send: a token bucket of ws_frame_burst, refilled at
    # ws_max_frames_per_s; past it the client gets 4430 and is disconnected. People send a few
    # frames a second; the SDK's catch-up after a reconnect sends one sync per conversation it
    # knows (a conversations page holds 500) at once, hence the burst. A flood is cut within
    # a fifth of a second at 5,000 frames/s.
    ws_max_frames_per_s: float = Field(default=200, gt=0)
    ws_frame_burst: int = Field(default=1000, ge=1)
    # The bytes a client's socket may have waiting in the gateway (the transport's write
    # buffer, beyond what the kernel holds): a push that would pass it cuts the client off
    # (4008; it catches up with sync on reconnect), replies past it stop the reading of the
    # client until it drains (services/gateway/sessions.py). 1 MiB holds ~80 messages of the
    # 12 KB maximum or thousands of usual ones, seconds of a slow mobile link.
    ws_outbox_max_bytes: int = Field(default=1024 * 1024, ge=64 * 1024)

    # all_member_push: messages a push instance publishes per second, so a push to every
    # account never starves normal traffic (SPEC §6).
    all_member_push_rate: int = Field(default=200, gt=0)
    # Push vendors' endpoints in place of their production URLs, for tests and staging: a JSON
    # object of endpoint name to base URL, e.g. '{"apns": "http://127.0.0.1:8443",
    # "fcm_token": "http://127.0.0.1:8444/token"}' (names: services/push/adapters.py).
    push_endpoints: dict[str, str] = {}
    # A PEM CA bundle the push adapters trust beside the system's (a local TLS server in
    # tests, an egress proxy); empty: the system's only.
    push_ca_file: str = ""
    # Offline pushes to vendors: at most this many requests in flight per push instance, and
    # tries per device while a vendor answers "try again" (429, 5xx, a network failure),
    # waiting its Retry-After or an exponential backoff from push_retry_base_s, capped.
    push_concurrency: int = Field(default=64, ge=1, le=4096)
    push_max_attempts: int = Field(default=3, ge=1, le=10)
    push_retry_base_s: float = Field(default=0.5, gt=0)
    push_retry_max_s: float = Field(default=10.0, gt=0)

    # Callbacks to app servers: loopback, link-local (cloud metadata) and private addresses
    # are refused unless allowed (SSRF guard; `tidings up` allows them for local servers).
    callback_allow_private: bool = False
    # The addresses (IPs or CIDRs) the callback service's requests leave from, as the operator
    # knows them (a NAT, an egress proxy), for app servers to allow-list: REST
    # ConfigSvc/GetIPList answers them. A JSON array, e.g. '["203.0.113.7", "198.51.100.0/25"]'.
    callback_egress_ips: list[str] = []
    # After-callbacks that failed inline: tries from im.callbacks.retry, with a backoff from
    # base doubling per try (capped at 60 s), before they go to im.callbacks.dlq.
    callback_retry_attempts: int = Field(default=8, ge=1)
    callback_retry_base_s: float = Field(default=2.0, gt=0)

    # The operator's sensitive words, added to the router's built-in list (one word a line, #
    # comments); empty: the built-in list only.
    sensitive_words_file: str = ""

    # Operator bearer token for the /admin API; empty disables it. `tidings up` makes one.
    admin_token: str = ""

    # Device logs on demand (services/gateway/device_logs.py): the largest log a client may
    # upload (refused with 413 before more is read), and how long a client has to answer the
    # admin API's request before its request id stops being accepted.
    device_log_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    device_log_request_ttl_s: int = Field(default=600, ge=10, le=86400)

    # Web console logins (services/gateway/console_auth.py): a session ends after this long
    # unused; a username, or a client IP, with this many failed logins within the window is
    # refused (429) until the window, counted from its first failure, ends.
    console_session_idle_s: int = Field(default=12 * 3600, ge=60, le=30 * 86400)
    console_login_window_s: int = Field(default=900, ge=1, le=86400)
    console_login_max_failures: int = Field(default=5, ge=1, le=1000)
    console_login_max_failures_per_ip: int = Field(default=20, ge=1, le=100000)

    # REST get_history's download URLs (services/gateway/history_files.py): signed with this
    # secret (HMAC-SHA256; empty: get_history answers 90994, `tidings up` makes one), valid
    # for url_ttl_s, and starting with base_url, the gateway's address as app servers reach
    # it (empty: http://advertise_host:http_port). Files of finished hours are kept under
    # data_dir/history_files.
    history_file_secret: str = ""
    history_file_url_ttl_s: int = Field(default=3600, ge=60, le=7 * 86400)
    history_file_base_url: str = ""

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "tidings.sqlite3"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
