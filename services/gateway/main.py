"""gateway: client WebSockets, REST v4 and the admin API, and GatewayService for the router."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
from pathlib import Path

import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import Gauge

from services.common import topics
from services.common.app_cache import AppCache
from services.common.bus import BatchProducer, make_producer
from services.common.config import Settings, get_settings
from services.common.config_feed import APP, ConfigAnnouncer, ConfigFeed
from services.common.config_versions import ConfigVersions
from services.common.grpc_util import Channels, GrpcServer
from services.common.logging import get_logger, setup_logging
from services.common.pb.tidings.v1 import gateway_pb2, gateway_pb2_grpc, history_pb2_grpc
from services.common.presence import NodePresence
from services.common.recent import TailReader
from services.common.redis_state import SessionRegistry, connect
from services.common.runtime import run_service
from services.common.store.factory import open_stores
from services.common.trace import Tracer
from services.gateway import tracing
from services.gateway.admin import accounts as admin_accounts
from services.gateway.admin import audit_log as admin_audit_log
from services.gateway.admin import callback_log as admin_callback_log
from services.gateway.admin import custom_fields as admin_custom_fields
from services.gateway.admin import device_logs as admin_device_logs
from services.gateway.admin import events as admin_events
from services.gateway.admin import groups as admin_groups
from services.gateway.admin import monitor as admin_monitor
from services.gateway.admin import mount_admin
from services.gateway.admin import push as admin_push
from services.gateway.admin import reports as admin_reports
from services.gateway.admin import stats as admin_stats
from services.gateway.admin import subaccounts as admin_subaccounts
from services.gateway.admin.base import AdminDeps
from services.gateway.archive import Archive
from services.gateway.auth import Authenticator
from services.gateway.console_auth import ConsoleAuth
from services.gateway.console_auth import build_router as console_auth_router
from services.gateway.device_logs import UPLOAD_PATH, DeviceLogRequests, build_upload_router
from services.gateway.directory import Directory
from services.gateway.events import observe_local, use_group_tips, use_group_versions
from services.gateway.group_tips import GroupTips
from services.gateway.grpc_service import GatewayServicer
from services.gateway.history_downloads import HistoryFiles
from services.gateway.history_downloads import build_router as build_history_file_router
from services.gateway.http_limits import HttpLimits
from services.gateway.openapi_routes import install_openapi
from services.gateway.publisher import Publisher
from services.gateway.ratelimit import RateLimiter
from services.gateway.receipts import GroupReceipts
from services.gateway.rest_v4 import SERVICES, build_router
from services.gateway.rest_v4.context import RestDeps
from services.gateway.sessions import LocalSessions
from services.gateway.workers import supervise
from services.gateway.ws import WsEndpoint, serve

log = get_logger(__name__)

SESSION_TOUCH_S = 30.0
HTTP_BACKLOG = 2048
# How long closing the WebSocket server waits for its last connections once every socket was
# told to close (WsEndpoint.close_all).
WS_CLOSE_S = 5.0

# The web console: static files (index.html, app.js, app.css), no build step.
CONSOLE_DIR = Path(__file__).with_name("console")
# The console's page may load only its own scripts and styles, and nobody may frame it.
CONSOLE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

TASKS = Gauge(
    "tidings_gateway_asyncio_tasks",
    "asyncio tasks in the gateway's event loop: a few dozen, and none per idle connection",
    ["node"],
)


def build_http(
    deps: RestDeps, publisher: Publisher, app_cache: AppCache, redis: aioredis.Redis
) -> FastAPI:
    app = FastAPI(
        title="Tidings",
        version="0.1.0",
        description="Tencent Cloud IM REST v4 compatible server API, and the Tidings admin API.",
    )
    app.include_router(build_router(deps))
    # get_history's files: the URL's signature is their credential (no UserSig).
    history_files = HistoryFiles(deps.stores.messages, deps.settings)
    app.include_router(build_history_file_router(history_files, deps.settings.history_file_secret))
    admin = AdminDeps(
        deps.settings,
        deps.stores.apps,
        app_cache,
        deps.stores.dirty_words,
        deps.config,
        deps.stores.admin_audit,
    )
    mount_admin(app, admin)
    app.include_router(admin_audit_log.build_router(admin))
    app.include_router(admin_custom_fields.build_router(admin))
    # Message reports read history and recall through the publisher, as REST does.
    app.include_router(admin_reports.build_router(admin, deps))
    app.include_router(admin_push.build_router(admin))
    app.include_router(admin_stats.build_router(admin, deps.stores.stats))
    # Device logs: the admin API asks connected clients, and they upload over HTTP.
    log_requests = DeviceLogRequests(redis, deps.settings.device_log_request_ttl_s)
    app.include_router(admin_device_logs.build_router(admin, deps, log_requests))
    app.include_router(
        build_upload_router(
            deps.auth, log_requests, deps.stores.device_logs, deps.settings.device_log_max_bytes
        )
    )
    app.include_router(admin_events.build_router(admin, deps.stores.trace_log))
    app.include_router(admin_callback_log.build_router(admin, deps.stores.trace_log))
    # Real-time monitoring reads the audit service's buckets and the presence index.
    app.include_router(admin_monitor.build_router(admin, redis))
    # The web console's logins, and its sub-accounts (services/gateway/console_auth.py).
    console = ConsoleAuth(deps.settings, deps.stores.console_accounts, redis)
    app.include_router(console_auth_router(console))
    app.include_router(admin_subaccounts.build_router(admin, deps.stores.console_accounts))
    # Accounts and groups: the handlers REST v4 runs, as the app's admin account.
    app.include_router(admin_accounts.build_router(admin, deps))
    app.include_router(admin_groups.build_router(admin, deps))
    install_openapi(app, SERVICES)
    mount_console(app)
    # Outside every route: the token (or the console session and its CSRF token) and the body
    # size are checked before a body is read. Device log uploads check the UserSig, then bound
    # their own (larger) body.
    app.add_middleware(
        HttpLimits,
        settings=deps.settings,
        self_bounded=frozenset({UPLOAD_PATH}),
        console=console,
    )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        ready = publisher.accepting
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    return app


def mount_console(app: FastAPI) -> None:
    """The web console at /console/: its page, and its assets under /console/assets/ (a path
    that leaves /console/api/* to the console's session routes)."""

    @app.get("/console", include_in_schema=False)
    async def console_slash() -> RedirectResponse:
        return RedirectResponse("/console/")

    @app.get("/console/", include_in_schema=False)
    async def console_page() -> FileResponse:
        return FileResponse(CONSOLE_DIR / "index.html", headers=CONSOLE_HEADERS)

    app.mount("/console/assets", StaticFiles(directory=CONSOLE_DIR), name="console")


async def touch_sessions(local: LocalSessions, registry: SessionRegistry) -> None:
    while True:
        await asyncio.sleep(SESSION_TOUCH_S)
        users = local.users()
        if users:
            try:
                await registry.touch(users)
            except Exception as exc:  # noqa: BLE001 - retried on the next tick
                log.warning("session touch failed", error=str(exc))


def http_socket(settings: Settings, reuse_port: bool) -> socket.socket:
    """The HTTP port's listening socket, bound here so that the workers of one gateway can
    share it (SO_REUSEPORT); uvicorn serves it."""
    family, kind, proto, _, address = socket.getaddrinfo(
        settings.bind_host, settings.http_port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(HTTP_BACKLOG)
    sock.setblocking(False)
    return sock


def memory_report(local: LocalSessions, endpoint: WsEndpoint) -> None:
    """SIGUSR1: a full collection, then one line of what this process holds."""
    gc.collect()
    with open("/proc/self/statm") as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    log.info(
        "memory report",
        rss_mib=round(rss / 2**20, 1),
        connections=len(local),
        sockets=endpoint.sockets,
        tasks=len(asyncio.all_tasks()),
    )


async def main(settings: Settings, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    # Several workers of one gateway share the client ports.
    shared_ports = settings.gateway_workers > 1
    stores = open_stores(settings)
    redis = connect(settings.redis_url)
    channels = Channels()
    producer = make_producer(settings)
    await producer.start()
    tracer = Tracer(BatchProducer(producer))
    tracing.use(tracer)
    node_addr = f"{settings.advertise_host}:{settings.grpc_port}"
    publisher = Publisher(
        producer,
        settings.node_id,
        node_addr,
        settings.send_timeout_s,
        linger_s=settings.kafka_linger_ms / 1000,
    )
    app_cache = AppCache(stores.apps)
    # The send checks' directory: invalidated by this process's own events at once, and by
    # every gateway's from im.events (the one background consumer, with im.config).
    directory = Directory(stores)
    observe_local(directory.apply_local)
    use_group_versions(redis)
    use_group_tips(GroupTips(publisher, app_cache))
    feed = ConfigFeed(settings, "gateway", settings.kafka_background_fetch_max_wait_ms)
    feed.on(APP, app_cache.on_app_change)
    feed.follow(topics.EVENTS, directory.apply_record, on_gap=directory.clear)
    await feed.start()
    auth = Authenticator(app_cache, directory, ConfigVersions(redis))
    local = LocalSessions()
    presence = NodePresence(redis, node_addr, local, refresh_s=SESSION_TOUCH_S)
    local.watch(presence)
    registry = SessionRegistry(redis)
    history = history_pb2_grpc.HistoryServiceStub(channels.get(settings.history_addr))

    grpc_server = GrpcServer(settings.bind_host, settings.grpc_port)
    grpc_server.add(
        lambda s: gateway_pb2_grpc.add_GatewayServiceServicer_to_server(
            GatewayServicer(local, publisher), s
        ),
        [gateway_pb2.DESCRIPTOR.services_by_name["GatewayService"].full_name],
    )
    await grpc_server.start()

    limiter = RateLimiter(redis)
    endpoint = WsEndpoint(
        settings,
        auth,
        local,
        registry,
        publisher,
        history,
        node_addr,
        stores,
        channels,
        limiter,
        redis,
    )
    ws_server = await serve(endpoint, settings, reuse_port=shared_ports)
    TASKS.labels(settings.node_id).set_function(lambda: len(asyncio.all_tasks(loop)))
    loop.add_signal_handler(signal.SIGUSR1, memory_report, local, endpoint)

    deps = RestDeps(
        settings=settings,
        auth=auth,
        stores=stores,
        publisher=publisher,
        history=history,
        archive=Archive(history),
        tails=TailReader(redis),
        sessions=registry,
        channels=channels,
        limiter=limiter,
        producer=producer,
        config=ConfigAnnouncer(ConfigVersions(redis), producer),
        receipts=GroupReceipts(redis),
    )
    http = uvicorn.Server(
        uvicorn.Config(
            build_http(deps, publisher, app_cache, redis),
            loop="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            backlog=HTTP_BACKLOG,
        )
    )
    # The process runtime owns the signals; uvicorn must not take them over.
    http.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    background = [
        asyncio.create_task(http.serve(sockets=[http_socket(settings, shared_ports)])),
        asyncio.create_task(publisher.sweep_forever()),
        asyncio.create_task(touch_sessions(local, registry)),
        asyncio.create_task(presence.run()),
        asyncio.create_task(feed.run()),
        asyncio.create_task(endpoint.keepalive()),
    ]
    await stop.wait()

    # Drain: refuse new sends, let the router answer those in flight, then close the edge.
    await grpc_server.set_serving(False)
    await publisher.drain(settings.send_timeout_s)
    ws_server.close()
    await endpoint.close_all()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ws_server.wait_closed(), WS_CLOSE_S)
    await presence.close()
    http.should_exit = True
    await background[0]
    await feed.stop()
    for task in background[1:]:
        task.cancel()
    await feed.close()
    await grpc_server.stop()
    await tracer.drain()
    await producer.stop()
    await channels.close()
    await redis.aclose()
    await stores.close()


def run() -> None:
    settings = get_settings()
    if settings.gateway_workers > 1 and settings.gateway_worker < 0:
        # The parent of the workers (services/gateway/workers.py).
        setup_logging("gateway", settings.log_format, settings.log_level)
        raise SystemExit(supervise(settings))
    run_service("gateway", main)


if __name__ == "__main__":
    run()
