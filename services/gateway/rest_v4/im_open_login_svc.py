"""im_open_login_svc: accounts."""

from __future__ import annotations

from typing import Any

from services.common.errors import ErrorCode, TidingsError
from services.common.quotas import quota_for
from services.common.store.ports import Account
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.ACCOUNT_INVALID_PARAM
MAX_USER_ID_BYTES = 32


async def account_import(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user_id = fields.text(body, "UserID", "Identifier", code=BAD, max_len=MAX_USER_ID_BYTES)
    nick = fields.text(body, "Nick", code=BAD, required=False, max_len=500)
    face_url = fields.text(body, "FaceUrl", code=BAD, required=False, max_len=500)
    directory = ctx.deps.stores.directory
    sdkappid = ctx.app.sdkappid
    if not await directory.get_accounts(sdkappid, [user_id]):
        limit = quota_for(ctx.app.edition).accounts
        if limit is not None and await directory.count_accounts(sdkappid) >= limit:
            raise TidingsError(
                ErrorCode.ACCOUNT_LIMIT,
                f"the {ctx.app.edition} edition allows {limit} accounts",
            )
    await directory.upsert_accounts(sdkappid, [Account(user_id, nick, face_url)])
    return {}


COMMANDS: dict[str, Handler] = {"account_import": account_import}
