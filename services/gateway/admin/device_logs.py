"""/admin/apps/{id}/.../device-logs: device logs on demand (Easemob's 设备日志).

- POST /admin/apps/{id}/users/{user}/device-logs asks every connected session of the user, on
  whichever gateway node, to upload its log: each gets an `upload_log_request` frame with a new
  request id, answered {"request_id", "sessions": how many were asked}; 409 `not_connected`
  when the user has no session. The clients upload over HTTP (services/gateway/device_logs.py)
  within `device_log_request_ttl_s`, each session once.
- GET /admin/apps/{id}/device-logs?user=&before=&limit= lists the uploads, newest first, a page
  at a time (pass the last upload_id of a page as `before` for the next).
- GET /admin/apps/{id}/device-logs/{upload_id} downloads one: the bytes as uploaded, with their
  content type (text/plain or application/gzip).

Uploads are kept 7 days (services/common/store/device_logs.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from services.common.store.device_logs import GZIP, DeviceLogInfo
from services.gateway import ids
from services.gateway.admin.apps import SdkAppId
from services.gateway.admin.base import AdminDeps, AdminError, current_change
from services.gateway.device_logs import REQUEST_OP, DeviceLogRequests
from services.gateway.receipts import Notice, notify
from services.gateway.rest_v4.context import RestDeps

UserId = Annotated[
    str, Path(min_length=1, max_length=ids.MAX_USER_ID_BYTES, description="the user's UserID")
]
UploadId = Annotated[str, Path(min_length=1, max_length=64, description="the upload's id")]
MAX_PAGE = 100


class LogRequested(BaseModel):
    request_id: str = Field(description="the id every asked session uploads with")
    sessions: int = Field(description="the user's connected sessions that were asked")


class DeviceLogView(BaseModel):
    upload_id: str
    request_id: str
    user: str
    platform: str
    conn_id: str = Field(description="the connection (session) that uploaded it")
    content_type: str
    size: int = Field(description="bytes, as uploaded")
    uploaded_at: int = Field(description="Unix milliseconds")


class DeviceLogPage(BaseModel):
    device_logs: list[DeviceLogView]
    next_before: str = Field(description="pass as `before` for the next page; empty at the end")


def _view(info: DeviceLogInfo) -> DeviceLogView:
    return DeviceLogView(
        upload_id=info.upload_id,
        request_id=info.request_id,
        user=info.user,
        platform=info.platform,
        conn_id=info.conn_id,
        content_type=info.content_type,
        size=info.size,
        uploaded_at=info.uploaded_ms,
    )


def build_router(deps: AdminDeps, rest: RestDeps, requests: DeviceLogRequests) -> APIRouter:
    router = deps.router("/admin/apps/{sdkappid}")
    store = rest.stores.device_logs

    @router.post(
        "/users/{user_id}/device-logs",
        summary="Ask the user's connected clients to upload their logs",
        responses={409: {"description": "the user has no connected session"}},
        dependencies=[deps.audited("device_logs.request")],
    )
    async def ask(sdkappid: SdkAppId, user_id: UserId) -> LogRequested:
        await deps.load_app(sdkappid)
        problem = ids.user_id_problem(user_id)
        if problem:
            raise AdminError(422, "invalid_argument", f"user_id {problem}")
        sessions = (await rest.sessions.lookup([(sdkappid, user_id)]))[0]
        if not sessions:
            raise AdminError(409, "not_connected", f"user {user_id} has no connected session")
        request_id = await requests.open(sdkappid, user_id, sessions)
        frame: dict[str, object] = {"op": REQUEST_OP, "request_id": request_id}
        await notify(rest.channels, rest.sessions, [Notice(sdkappid, user_id, frame)])
        current_change().after = {"request_id": request_id, "sessions": len(sessions)}
        return LogRequested(request_id=request_id, sessions=len(sessions))

    @router.get("/device-logs", summary="The app's uploaded device logs, newest first")
    async def list_logs(
        sdkappid: SdkAppId,
        user: Annotated[
            str | None, Query(min_length=1, max_length=ids.MAX_USER_ID_BYTES, description="only")
        ] = None,
        before: Annotated[str, Query(max_length=64, description="a page's last upload_id")] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    ) -> DeviceLogPage:
        await deps.load_app(sdkappid)
        infos = await store.list(sdkappid, user, before, limit)
        return DeviceLogPage(
            device_logs=[_view(i) for i in infos],
            next_before=infos[-1].upload_id if len(infos) == limit else "",
        )

    @router.get(
        "/device-logs/{upload_id}",
        summary="Download one device log, as uploaded",
        response_class=Response,
        responses={
            200: {
                "content": {"text/plain": {}, "application/gzip": {}},
                "description": "the log's bytes",
            }
        },
    )
    async def download(sdkappid: SdkAppId, upload_id: UploadId) -> Response:
        await deps.load_app(sdkappid)
        found = await store.get(sdkappid, upload_id)
        if found is None:
            raise AdminError(404, "not_found", f"app {sdkappid} has no device log {upload_id}")
        suffix = "log.gz" if found.info.content_type == GZIP else "log"
        return Response(
            found.body,
            media_type=found.info.content_type,
            headers={"Content-Disposition": f'attachment; filename="{upload_id}.{suffix}"'},
        )

    return router
