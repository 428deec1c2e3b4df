"""openim_robot_http_svc: create_robot, delete_robot and get_all_robots.

Tencent's reference (cloud.tencent.com/document/product/269/89991, /89992, /89993): a robot is
an account whose UserID starts with "@RBT#" (at most 32 bytes), with a nick, a face URL and a
SelfSignature (at most 500 bytes); creating one again creates no second robot; an app has at
most 20; get_all_robots answers their UserIDs in `Robot_Account`. Codes: 10004 for a bad
parameter, 10008 for an illegal request such as a robot over the limit.

A robot is kept as what it is to every other command, an account: create_robot imports it as
account_import does (Nick and FaceUrl on the account, SelfSignature on its profile) and
delete_robot deletes it as account_delete does, so robots send, receive and join groups like
any account. The "@RBT#" prefix, which Tencent reserves for robots, is the mark: no flag is
stored, and get_all_robots reads the directory's UserIDs in that prefix's range. Where Tencent
is silent: an account imported through account_import with such a UserID counts as a robot;
deleting a robot that does not exist is 10004; the limit counts the app's robots, whoever
created them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from services.common.errors import ErrorCode, TidingsError
from services.gateway import profiles
from services.gateway.rest_v4 import fields, im_open_login_svc
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.GROUP_INVALID_PARAM
ROBOT_PREFIX = "@RBT#"
MAX_ROBOT_ID_BYTES = 32
MAX_SIGNATURE_BYTES = 500
# Nick and FaceUrl: the account's own bound (account_import's).
MAX_PROFILE_BYTES = profiles.MAX_VALUE_BYTES
MAX_ROBOTS = 20
PAGE = 100
SIGNATURE_TAG = "Tag_Profile_IM_SelfSignature"


def robot_id(value: Any, field: str) -> str:
    """A robot's UserID: an account id that starts with the prefix and names something after
    it, within Tencent's 32 bytes."""
    user = profiles.user_id(value, field, BAD)
    if not user.startswith(ROBOT_PREFIX) or user == ROBOT_PREFIX:
        raise TidingsError(BAD, f"{field} must start with {ROBOT_PREFIX!r}")
    if len(user.encode()) > MAX_ROBOT_ID_BYTES:
        raise TidingsError(BAD, f"{field} is longer than {MAX_ROBOT_ID_BYTES} bytes")
    return user


def robots_on_page(page: Sequence[str]) -> tuple[list[str], bool]:
    """The robots on a page of UserIDs listed from the prefix on, and whether the listing has
    reached the end of the prefix's range (so no later page can hold a robot)."""
    robots = [u for u in page if u.startswith(ROBOT_PREFIX)]
    return robots, len(robots) < len(page)


async def _robots(ctx: RestContext, limit: int | None = None) -> list[str]:
    """The app's robots in UserID order; with a limit, stop once that many are found."""
    directory = ctx.deps.stores.directory
    found: list[str] = []
    # Every robot id sorts after the bare prefix, and the listing's bound is exclusive.
    after = ROBOT_PREFIX
    while limit is None or len(found) < limit:
        page = await directory.list_accounts(ctx.app.sdkappid, after, PAGE)
        robots, ended = robots_on_page(page)
        found.extend(robots)
        if ended or len(page) < PAGE:
            break
        after = page[-1]
    return found


async def create_robot(ctx: RestContext, body: dict[str, Any]) -> Reply:
    robot = robot_id(fields.raw(body, "UserID"), "UserID")
    signature = fields.text(
        body, "SelfSignature", code=BAD, required=False, max_len=MAX_SIGNATURE_BYTES
    )
    existing = await ctx.deps.stores.directory.get_accounts(ctx.app.sdkappid, [robot])
    if robot not in existing and len(await _robots(ctx, MAX_ROBOTS)) >= MAX_ROBOTS:
        raise TidingsError(
            ErrorCode.ROBOT_REQUEST_REFUSED, f"the app already has {MAX_ROBOTS} robots"
        )
    entry: dict[str, Any] = {"UserID": robot}
    for name in ("Nick", "FaceUrl"):
        value = fields.text(body, name, code=BAD, required=False, max_len=MAX_PROFILE_BYTES)
        if name in body:
            entry[name] = value
    await im_open_login_svc.account_import(ctx, entry)
    if "SelfSignature" in body:
        await ctx.deps.stores.profiles.set_values(
            ctx.app.sdkappid, robot, {SIGNATURE_TAG: signature}
        )
    return {}


async def delete_robot(ctx: RestContext, body: dict[str, Any]) -> Reply:
    robot = robot_id(fields.raw(body, "Robot_Account"), "Robot_Account")
    reply = await im_open_login_svc.account_delete(ctx, {"DeleteItem": [{"UserID": robot}]})
    (item,) = reply["ResultItem"]
    if item["ResultCode"] != ErrorCode.OK:
        raise TidingsError(BAD, f"robot {robot!r} does not exist")
    return {}


async def get_all_robots(ctx: RestContext, body: dict[str, Any]) -> Reply:
    return {"Robot_Account": await _robots(ctx)}


COMMANDS: dict[str, Handler] = {
    "create_robot": create_robot,
    "delete_robot": delete_robot,
    "get_all_robots": get_all_robots,
}


# Request bodies for /openapi.json (the handlers above do the validation, with Tencent's codes).
class CreateRobotRequest(BaseModel):
    UserID: str = Field(description=f"starts with {ROBOT_PREFIX}, at most 32 bytes")
    Nick: str | None = None
    FaceUrl: str | None = None
    SelfSignature: str | None = Field(default=None, description="at most 500 bytes")


class DeleteRobotRequest(BaseModel):
    Robot_Account: str


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "create_robot": CreateRobotRequest,
    "delete_robot": DeleteRobotRequest,
}
