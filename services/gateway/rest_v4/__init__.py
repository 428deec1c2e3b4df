"""REST v4, wire-compatible with Tencent Cloud IM: POST /v4/<service>/<command>?sdkappid=
&identifier=&usersig=&random=&contenttype=json. The HTTP status is always 200; the body
carries ActionStatus, ErrorCode and ErrorInfo. A GET with a JSON body is taken like a POST.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.common.errors import ErrorCode, TidingsError
from services.common.logging import get_logger
from services.common.metrics import REST_LATENCY, REST_REQUESTS
from services.gateway import ipwhitelist
from services.gateway.bounds import SDKAPPID, parse_decimal
from services.gateway.rest_v4 import (
    all_member_push,
    avchatroom,
    contact_groups,
    follow,
    group_broadcast,
    group_kv,
    group_messages,
    group_more,
    group_open_http_svc,
    group_topics,
    im_open_login_svc,
    msg_delete,
    msg_ext,
    openconfigsvr,
    openim,
    openim_dirty_words,
    openim_messages,
    openim_state,
    operations,
    profile,
    push_devices,
    receipts,
    recentcontact,
    robots,
    sns,
)
from services.gateway.rest_v4.context import Handler, Reply, RestContext, RestDeps

log = get_logger(__name__)

SERVICES: dict[str, dict[str, Handler]] = {
    "group_open_http_svc": {
        **group_open_http_svc.COMMANDS,
        **group_messages.COMMANDS,
        **group_kv.COMMANDS,
        **receipts.GROUP_COMMANDS,
        **group_more.COMMANDS,
        **group_broadcast.COMMANDS,
        **msg_delete.GROUP_COMMANDS,
        **group_topics.GROUP_COMMANDS,
    },
    "million_group_open_http_svc": group_topics.COMMANDS,
    "group_open_attr_http_svc": group_kv.ATTR_COMMANDS,
    "group_open_avchatroom_http_svc": avchatroom.COMMANDS,
    "im_open_login_svc": im_open_login_svc.COMMANDS,
    "openim": {
        **openim.COMMANDS,
        **openim_messages.COMMANDS,
        **openim_state.COMMANDS,
        **receipts.OPENIM_COMMANDS,
        **group_more.OPENIM_COMMANDS,
        **msg_delete.OPENIM_COMMANDS,
    },
    "profile": profile.COMMANDS,
    "openconfigsvr": {**openconfigsvr.COMMANDS, **operations.OPENCONFIGSVR_COMMANDS},
    "open_msg_svc": operations.OPEN_MSG_SVC_COMMANDS,
    "ConfigSvc": operations.CONFIG_SVC_COMMANDS,
    "recentcontact": {**recentcontact.COMMANDS, **contact_groups.COMMANDS},
    "all_member_push": all_member_push.COMMANDS,
    "openim_dirty_words": openim_dirty_words.COMMANDS,
    "openim_msg_ext_http_svc": msg_ext.COMMANDS,
    "sns": sns.COMMANDS,
    "follow": follow.COMMANDS,
    "openim_robot_http_svc": robots.COMMANDS,
    # Tidings' own: Tencent has no REST command for device tokens (rest_v4/push_devices.py).
    "tidings_push": push_devices.COMMANDS,
}


# The services whose every reply, success or error, carries ErrorDisplay in Tencent's reference
# (the relationship chain, profiles, follows).
ERROR_DISPLAY_SERVICES = frozenset({"sns", "profile", "follow"})
# And the single commands of other services whose replies carry it there.
ERROR_DISPLAY_COMMANDS = frozenset({("recentcontact", "get_list"), ("recentcontact", "delete")})


def reply_body(
    code: ErrorCode | int, info: str, extra: Reply | None = None, *, error_display: bool = False
) -> bytes:
    body: dict[str, Any] = {
        "ActionStatus": "OK" if code == 0 else "FAIL",
        "ErrorCode": int(code),
        "ErrorInfo": info,
    }
    if error_display:
        body["ErrorDisplay"] = ""
    if extra:
        body.update(extra)
    return orjson.dumps(body)


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TidingsError(ErrorCode.REST_JSON_PARSE, f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TidingsError(ErrorCode.REST_JSON_PARSE, f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise TidingsError(ErrorCode.REST_JSON_PARSE, f"json parse error: {exc}") from exc
    if not isinstance(body, dict):
        raise TidingsError(ErrorCode.REST_JSON_PARSE, "the request body must be a JSON object")
    return body


def _sdkappid(value: str | None) -> int:
    if not value:
        raise TidingsError(ErrorCode.REST_SDKAPPID_REQUIRED, "sdkappid is required in the url")
    return parse_decimal(value, "sdkappid", SDKAPPID, ErrorCode.REST_SDKAPPID_REQUIRED)


def build_router(deps: RestDeps) -> APIRouter:
    router = APIRouter()

    async def handle(service: str, command: str, request: Request) -> Response:
        started = time.perf_counter()
        code: int = 0
        app_label = "unknown"
        displayed = (
            service in ERROR_DISPLAY_SERVICES or (service, command) in ERROR_DISPLAY_COMMANDS
        )
        try:
            handler = SERVICES.get(service, {}).get(command)
            if handler is None:
                raise TidingsError(ErrorCode.REST_RESOURCE, f"unknown command {service}/{command}")
            q = request.query_params
            sdkappid = _sdkappid(q.get("sdkappid"))
            identifier = q.get("identifier") or ""
            sig = q.get("usersig") or ""
            if not identifier or not sig:
                raise TidingsError(
                    ErrorCode.REST_ACCOUNT_OR_SIG, "identifier and usersig are required in the url"
                )
            app = await deps.auth.verify(sdkappid, identifier, sig)
            app_label = str(sdkappid)
            if not deps.auth.is_admin(app, identifier):
                raise TidingsError(ErrorCode.REST_ADMIN_REQUIRED)
            client_ip = request.client.host if request.client else ""
            ipwhitelist.check(app, client_ip)
            await deps.limiter.check(app, service, command)
            body = parse_json_object(await read_limited(request, deps.settings.max_http_body_bytes))
            extra = await handler(RestContext(app, identifier, client_ip, deps), body)
            payload = reply_body(ErrorCode.OK, "", extra, error_display=displayed)
        except TidingsError as err:
            code = int(err.code)
            payload = reply_body(err.code, err.info, error_display=displayed)
        except Exception:
            log.exception("rest command failed", service=service, command=command)
            code = int(ErrorCode.REST_TIMEOUT)
            payload = reply_body(
                ErrorCode.REST_TIMEOUT, "internal error, please retry", error_display=displayed
            )
        REST_REQUESTS.labels(app_label, command, str(code)).inc()
        REST_LATENCY.labels(command).observe(time.perf_counter() - started)
        return Response(content=payload, media_type="application/json")

    router.add_api_route(
        "/v4/{service}/{command}",
        handle,
        methods=["POST", "GET"],
        summary="Tencent Cloud IM REST v4 command",
        response_class=Response,
    )
    return router
