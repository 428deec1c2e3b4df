"""Bad input gets an error with a code, and the gateway keeps serving everyone else."""

from __future__ import annotations

import orjson
import pytest
from websockets.asyncio.client import connect

from services.common import usersig
from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest, http_client
from tidings_client import Client

pytestmark = pytest.mark.stack


async def _recv(ws) -> dict:  # type: ignore[no-untyped-def]
    return orjson.loads(await ws.recv())  # type: ignore[no-any-return]


async def test_ws_bad_frames_get_error_frames(app: AppUnderTest) -> None:
    await app.import_accounts("gil", "hal")
    async with connect(app.stack.ws_url) as ws:
        await ws.send("{not json")
        assert (await _recv(ws))["code"] == ErrorCode.WS_BAD_FRAME
        await ws.send("[1, 2]")
        assert (await _recv(ws))["code"] == ErrorCode.WS_BAD_FRAME
        await ws.send(orjson.dumps({"op": "send", "id": 3, "to": "hal", "text": "x"}).decode())
        reply = await _recv(ws)
        assert (reply["op"], reply["id"], reply["code"]) == ("error", 3, ErrorCode.WS_NOT_LOGGED_IN)

        bad_sig = usersig.sign(app.sdkappid, "0" * 64, "gil")
        await ws.send(
            orjson.dumps(
                {
                    "op": "login",
                    "id": 4,
                    "sdkappid": app.sdkappid,
                    "identifier": "gil",
                    "usersig": bad_sig,
                }
            ).decode()
        )
        assert (await _recv(ws))["code"] == ErrorCode.SIG_WRONG_KEY
        expired = usersig.sign(app.sdkappid, app.key, "gil", expire=1, now=1_600_000_000)
        await ws.send(
            orjson.dumps(
                {
                    "op": "login",
                    "id": 5,
                    "sdkappid": app.sdkappid,
                    "identifier": "gil",
                    "usersig": expired,
                }
            ).decode()
        )
        assert (await _recv(ws))["code"] == ErrorCode.SIG_EXPIRED

    # A logged-in session: unknown ops, wrong types and oversize bodies are refused one by one.
    async with connect(app.stack.ws_url) as ws:
        login = {
            "op": "login",
            "id": 1,
            "sdkappid": app.sdkappid,
            "identifier": "gil",
            "usersig": app.sig("gil"),
        }
        await ws.send(orjson.dumps(login).decode())
        assert (await _recv(ws))["code"] == 0
        cases = [
            ({"op": "teleport", "id": 2}, ErrorCode.WS_UNKNOWN_OP),
            ({"op": "send", "id": 3, "to": 42, "text": "x"}, ErrorCode.WS_BAD_FRAME),
            ({"op": "send", "id": 4, "to": "nobody", "text": "x"}, ErrorCode.MSG_ACCOUNT_INVALID),
            ({"op": "send", "id": 5, "to": "hal", "text": "x" * 13_000}, ErrorCode.BODY_TOO_LARGE),
            (
                {"op": "send", "id": 6, "to": "hal", "elements": [{"MsgType": "TIMBogus"}]},
                ErrorCode.WS_BAD_FRAME,
            ),
        ]
        for frame, code in cases:
            await ws.send(orjson.dumps(frame).decode())
            reply = await _recv(ws)
            assert (reply["op"], reply["id"], reply["code"]) == ("error", frame["id"], code)
        await ws.send(orjson.dumps({"op": "send", "id": 7, "to": "hal", "text": "fine"}).decode())
        reply = await _recv(ws)
        assert (reply["op"], reply["code"], reply["seq"]) == ("ack", 0, 1)

    # Other clients were served throughout.
    hal = Client(app.stack.ws_url, app.sdkappid, "hal", app.sig("hal"))
    await hal.connect()
    try:
        ack = await hal.send(to="gil", text="still up")
        assert ack.seq == 2
    finally:
        await hal.close()


async def test_ws_unknown_protocol_path_is_refused(app: AppUnderTest) -> None:
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as err:
        async with connect(app.stack.ws_url.replace("/v1", "/v9")):
            pass
    assert err.value.response.status_code == 404


async def test_ws_login_of_unknown_account_and_app(app: AppUnderTest) -> None:
    async with connect(app.stack.ws_url) as ws:
        login = {
            "op": "login",
            "id": 1,
            "sdkappid": app.sdkappid,
            "identifier": "ghost",
            "usersig": app.sig("ghost"),
        }
        await ws.send(orjson.dumps(login).decode())
        assert (await _recv(ws))["code"] == ErrorCode.ACCOUNT_NOT_IMPORTED
        login = {**login, "id": 2, "sdkappid": 1999999999}
        await ws.send(orjson.dumps(login).decode())
        assert (await _recv(ws))["code"] == ErrorCode.SIG_SDKAPPID_UNKNOWN


async def test_rest_bad_input_is_http_200_with_a_code(app: AppUnderTest) -> None:
    url = f"{app.stack.rest_url}/v4/openim/sendmsg"
    async with http_client(timeout=10) as http:

        async def call(content: bytes, **params: object) -> dict:  # type: ignore[type-arg]
            r = await http.post(url, params={**app.admin_params, **params}, content=content)
            assert r.status_code == 200
            body = r.json()
            assert body["ActionStatus"] == "FAIL"
            assert body["ErrorInfo"]
            return body  # type: ignore[no-any-return]

        assert (await call(b"{oops"))["ErrorCode"] == ErrorCode.REST_JSON_PARSE
        assert (await call(b"[]"))["ErrorCode"] == ErrorCode.REST_JSON_PARSE
        assert (await call(b"x" * 2_000_000))["ErrorCode"] == ErrorCode.REST_JSON_PARSE
        body = orjson.dumps({"To_Account": 5, "MsgRandom": 1, "MsgBody": []})
        assert (await call(body))["ErrorCode"] == ErrorCode.OPENIM_NO_TO_ACCOUNT
        body = orjson.dumps({"To_Account": "x", "MsgBody": []})
        assert (await call(body))["ErrorCode"] == ErrorCode.OPENIM_NO_MSG_RANDOM
        assert (await call(b"{}", usersig="garbage"))["ErrorCode"] == ErrorCode.SIG_UNPARSABLE
        other = usersig.sign(app.sdkappid, app.key, "someone")
        reply = await call(b"{}", identifier="someone", usersig=other)
        assert reply["ErrorCode"] == ErrorCode.REST_ADMIN_REQUIRED
        assert (await call(b"{}", sdkappid="abc"))["ErrorCode"] == ErrorCode.REST_SDKAPPID_REQUIRED
        r = await http.post(
            f"{app.stack.rest_url}/v4/openim/no_such_command", params=app.admin_params, json={}
        )
        assert r.json()["ErrorCode"] == ErrorCode.REST_RESOURCE

        # A GET with a JSON body is taken like a POST.
        r = await http.request(
            "GET",
            f"{app.stack.rest_url}/v4/im_open_login_svc/account_import",
            params=app.admin_params,
            content=orjson.dumps({"Identifier": "legacy_name"}),
        )
        assert r.json()["ErrorCode"] == 0


async def test_apps_cannot_see_each_other(app: AppUnderTest) -> None:
    from tests.conftest import new_app

    other = await new_app(app.stack)
    await app.import_accounts("ivy", "jon")
    sent = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": "ivy",
            "To_Account": "jon",
            "MsgRandom": 7,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "secret"}}],
        },
    )
    assert sent["ErrorCode"] == 0
    # App B's admin cannot send as app A's users, nor read A's conversation.
    reply = await other.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": "ivy",
            "To_Account": "jon",
            "MsgRandom": 8,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}],
        },
    )
    assert reply["ErrorCode"] == ErrorCode.OPENIM_TO_ACCOUNT_UNKNOWN
    roam = await other.rest(
        "openim",
        "admin_getroammsg",
        {
            "Operator_Account": "ivy",
            "Peer_Account": "jon",
            "MaxCnt": 10,
            "MinTime": 0,
            "MaxTime": 2_000_000_000,
        },
    )
    assert roam["MsgCnt"] == 0
    # App A's key does not open app B.
    reply = await other.rest("openim", "sendmsg", {}, usersig=app.sig("administrator"))
    assert reply["ErrorCode"] == ErrorCode.SIG_SDKAPPID_MISMATCH
    # Groups: app B's admin neither sees nor changes app A's group.
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {"Owner_Account": "ivy", "Type": "Public", "Name": "a-only"},
    )
    group_id = created["GroupId"]
    info = await other.rest("group_open_http_svc", "get_group_info", {"GroupIdList": [group_id]})
    assert info["GroupInfo"][0]["ErrorCode"] == ErrorCode.GROUP_NOT_FOUND
    added = await other.rest(
        "group_open_http_svc",
        "add_group_member",
        {"GroupId": group_id, "MemberList": [{"Member_Account": "jon"}]},
    )
    assert added["ErrorCode"] == ErrorCode.GROUP_NOT_FOUND
    gone = await other.rest("group_open_http_svc", "destroy_group", {"GroupId": group_id})
    assert gone["ErrorCode"] == ErrorCode.GROUP_NOT_FOUND
    still = await app.rest("group_open_http_svc", "get_group_info", {"GroupIdList": [group_id]})
    assert still["GroupInfo"][0]["ErrorCode"] == 0
    # An SDKAppID that does not exist is refused over REST too.
    unknown = await app.rest("openim", "sendmsg", {}, sdkappid=1999999999)
    assert unknown["ErrorCode"] == ErrorCode.SIG_SDKAPPID_UNKNOWN
