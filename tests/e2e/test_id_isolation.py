"""UserIDs may hold `:`; no choice of ids lets one user read another's conversation (issue 9:
`cx:cy` read what `cx` sent to `cy:cz`, because both pairs mapped to `c2c:cx:cy:cz`)."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest

pytestmark = pytest.mark.stack


async def test_ids_with_colons_do_not_share_a_conversation(app: AppUnderTest) -> None:
    await app.import_accounts("cx", "cy:cz", "cx:cy", "cz")
    sent = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": "cx",
            "To_Account": "cy:cz",
            "MsgRandom": 7,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "private"}}],
        },
    )
    assert sent["ErrorCode"] == 0, sent

    async def readable_by_its_parties() -> bool:
        return len(await app.roam("cx", "cy:cz")) == 1

    assert await readable_by_its_parties()
    assert [m["MsgBody"][0]["MsgContent"]["Text"] for m in await app.roam("cy:cz", "cx")] == [
        "private"
    ]

    # The other pair, whose ids joined with `:` read the same, sees nothing.
    assert await app.roam("cx:cy", "cz") == []
    assert await app.roam("cz", "cx:cy") == []
    intruder = await app.connect("cx:cy")
    try:
        assert await intruder.sync(peer="cz") == []
        assert await intruder.conversations() == []
    finally:
        await intruder.close()
    recipient = await app.connect("cy:cz")
    try:
        got = await recipient.sync(peer="cx")
        assert [m.elements[0]["MsgContent"]["Text"] for m in got] == ["private"]
    finally:
        await recipient.close()


async def test_import_refuses_ids_tencent_refuses(app: AppUnderTest) -> None:
    for bad in ("a" * 33, "new\nline", ""):
        reply = await app.rest("im_open_login_svc", "account_import", {"UserID": bad})
        assert reply["ErrorCode"] == ErrorCode.ACCOUNT_INVALID_PARAM, (bad, reply)
    reply = await app.rest(
        "im_open_login_svc", "multiaccount_import", {"Accounts": ["ok:1", "tab\there"]}
    )
    assert reply["ErrorCode"] == 0, reply
    assert reply["FailAccounts"] == ["tab\there"]
