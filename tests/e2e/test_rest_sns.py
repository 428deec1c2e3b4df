"""sns (relationship chain) through the running stack: Tencent's request and reply shapes for
every command, and each error path we support."""

from __future__ import annotations

from typing import Any

import pytest

from services.gateway.relations import are_friends, is_blocked
from tests.conftest import AppUnderTest, new_app

pytestmark = pytest.mark.stack

OK = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "ErrorDisplay": ""}
SOURCE = "AddSource_Type_Android"


async def _allow_type(app: AppUnderTest, user: str, allow_type: str) -> None:
    async with app.stores() as stores:
        await stores.profiles.set_values(
            app.sdkappid, user, {"Tag_Profile_IM_AllowType": allow_type}
        )


async def _sns(app: AppUnderTest, command: str, body: dict[str, Any]) -> dict[str, Any]:
    return await app.rest("sns", command, body)


async def _add(app: AppUnderTest, owner: str, *peers: str, **extra: Any) -> dict[str, Any]:
    items = [{"To_Account": p, "AddSource": SOURCE} for p in peers]
    return await _sns(app, "friend_add", {"From_Account": owner, "AddFriendItem": items, **extra})


async def _relations(app: AppUnderTest, owner: str, *peers: str) -> dict[str, str]:
    reply = await _sns(
        app,
        "friend_check",
        {"From_Account": owner, "To_Account": list(peers), "CheckType": "CheckResult_Type_Both"},
    )
    return {i["To_Account"]: i["Relation"] for i in reply["InfoItem"]}


def _codes(reply: dict[str, Any], key: str = "ResultItem") -> dict[str, int]:
    return {i["To_Account"]: i["ResultCode"] for i in reply[key]}


async def test_friend_add_golden(app: AppUnderTest) -> None:
    await app.put_accounts("id", "id1", "id2", "id3")
    reply = await _sns(
        app,
        "friend_add",
        {
            "From_Account": "id",
            "AddFriendItem": [
                {"To_Account": "id1", "AddSource": "AddSource_Type_XXXXXXXX"},
                {
                    "To_Account": "id2",
                    "Remark": "remark2",
                    "GroupName": "同学",
                    "AddSource": "AddSource_Type_XXXXXXXX",
                    "AddWording": "I'm Test2",
                },
            ],
            "AddType": "Add_Type_Both",
            "ForceAddFlags": 1,
        },
    )
    assert reply == {
        **OK,
        "ResultItem": [
            {"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""},
            {"To_Account": "id2", "ResultCode": 0, "ResultInfo": ""},
        ],
    }
    assert await _relations(app, "id", "id1", "id2", "id3") == {
        "id1": "CheckResult_Type_BothWay",
        "id2": "CheckResult_Type_BothWay",
        "id3": "CheckResult_Type_NoRelation",
    }
    # AddType defaults to both ways; Add_Type_Single adds to From_Account's list only.
    single = await _add(app, "id2", "id3", AddType="Add_Type_Single")
    assert _codes(single) == {"id3": 0}
    assert (await _relations(app, "id2", "id3"))["id3"] == "CheckResult_Type_AWithB"
    assert (await _relations(app, "id3", "id2"))["id2"] == "CheckResult_Type_BWithA"

    got = await _sns(app, "friend_get", {"From_Account": "id", "StartIndex": 0})
    by_peer = {
        u["To_Account"]: {v["Tag"]: v["Value"] for v in u["ValueItem"]} for u in got["UserDataItem"]
    }
    assert by_peer["id2"]["Tag_SNS_IM_Remark"] == "remark2"
    assert by_peer["id2"]["Tag_SNS_IM_Group"] == ["同学"]
    assert by_peer["id2"]["Tag_SNS_IM_AddWording"] == "I'm Test2"
    assert by_peer["id1"]["Tag_SNS_IM_AddSource"] == "AddSource_Type_XXXXXXXX"
    assert isinstance(by_peer["id1"]["Tag_SNS_IM_AddTime"], int)
    assert "Tag_SNS_IM_Remark" not in by_peer["id1"]
    # The peer's side of a two-way add carries the source, not From_Account's remark.
    theirs = await _sns(app, "friend_get", {"From_Account": "id2", "StartIndex": 0})
    id_entry = {v["Tag"]: v["Value"] for v in theirs["UserDataItem"][0]["ValueItem"]}
    assert theirs["UserDataItem"][0]["To_Account"] == "id"
    assert "Tag_SNS_IM_Remark" not in id_entry and "Tag_SNS_IM_Group" not in id_entry

    async with app.stores() as stores:
        assert await are_friends(stores, app.sdkappid, "id", "id2", both=True)
        assert await are_friends(stores, app.sdkappid, "id2", "id3", both=False)
        assert not await are_friends(stores, app.sdkappid, "id2", "id3", both=True)
        assert not await are_friends(stores, app.sdkappid, "id3", "id2", both=False)


async def test_friend_add_result_codes(app: AppUnderTest) -> None:
    await app.put_accounts("a", "friend", "blocked", "blocker", "denier", "confirmer", "open")
    assert _codes(await _add(app, "a", "friend")) == {"friend": 0}
    await _sns(app, "black_list_add", {"From_Account": "a", "To_Account": ["blocked"]})
    await _sns(app, "black_list_add", {"From_Account": "blocker", "To_Account": ["a"]})
    await _allow_type(app, "denier", "AllowType_Type_DenyAny")
    await _allow_type(app, "confirmer", "AllowType_Type_NeedConfirm")

    reply = await _add(
        app, "a", "a", "ghost", "friend", "blocked", "blocker", "denier", "confirmer", "open"
    )
    assert reply["ActionStatus"] == "OK" and reply["ErrorCode"] == 0
    assert _codes(reply) == {
        "a": 30001,
        "ghost": 30003,
        "friend": 30001,
        "blocked": 30515,
        "blocker": 30525,
        "denier": 30516,
        "confirmer": 30539,
        "open": 0,
    }
    infos = {i["To_Account"]: i["ResultInfo"] for i in reply["ResultItem"]}
    assert infos["friend"] == "Err_SNS_FriendAdd_Friend_Exist"
    assert reply["Fail_Account"] == [
        "a",
        "ghost",
        "friend",
        "blocked",
        "blocker",
        "denier",
        "confirmer",
    ]
    # NeedConfirm forms a pending request instead of a friendship.
    assert (await _relations(app, "a", "confirmer"))["confirmer"] == "CheckResult_Type_NoRelation"
    async with app.stores() as stores:
        pending = await stores.sns.list_pendencies(app.sdkappid, "confirmer")
    assert [(p.requester, p.add_source) for p in pending] == [("a", SOURCE)]

    # ForceAddFlags=1 overrides the verification setting, not a blocklist.
    forced = await _add(app, "a", "denier", "confirmer", "blocker", ForceAddFlags=1)
    assert _codes(forced) == {"denier": 0, "confirmer": 0, "blocker": 30525}
    async with app.stores() as stores:
        assert await stores.sns.list_pendencies(app.sdkappid, "confirmer") == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"From_Account": 5, "AddFriendItem": [{"To_Account": "b", "AddSource": SOURCE}]},
        {"From_Account": "a"},
        {"From_Account": "a", "AddFriendItem": {"To_Account": "b"}},
        {"From_Account": "a", "AddFriendItem": [{"To_Account": "b"}]},
        {"From_Account": "a", "AddFriendItem": [{"To_Account": "b", "AddSource": "Android"}]},
        {"From_Account": "a", "AddFriendItem": [{"AddSource": SOURCE}]},
        {
            "From_Account": "a",
            "AddFriendItem": [{"To_Account": "b", "AddSource": SOURCE, "Remark": "r" * 97}],
        },
        {
            "From_Account": "a",
            "AddFriendItem": [{"To_Account": "b", "AddSource": SOURCE, "GroupName": ["g"]}],
        },
        {
            "From_Account": "a",
            "AddFriendItem": [{"To_Account": "b", "AddSource": SOURCE}],
            "AddType": "Add_Type_Sideways",
        },
        {
            "From_Account": "a",
            "AddFriendItem": [{"To_Account": "b", "AddSource": SOURCE}],
            "ForceAddFlags": 2,
        },
    ],
)
async def test_friend_add_bad_requests_get_30001(app: AppUnderTest, body: dict[str, Any]) -> None:
    reply = await _sns(app, "friend_add", body)
    assert (reply["ActionStatus"], reply["ErrorCode"]) == ("FAIL", 30001), reply
    assert reply["ErrorInfo"]


async def test_unknown_from_account_gets_30003(app: AppUnderTest) -> None:
    await app.put_accounts("b")
    cases: list[tuple[str, dict[str, Any]]] = [
        ("friend_add", {"AddFriendItem": [{"To_Account": "b", "AddSource": SOURCE}]}),
        ("friend_get", {"StartIndex": 0}),
        ("black_list_add", {"To_Account": ["b"]}),
        ("group_get", {}),
    ]
    for command, body in cases:
        reply = await _sns(app, command, {"From_Account": "nobody", **body})
        assert (reply["ActionStatus"], reply["ErrorCode"]) == ("FAIL", 30003), (command, reply)


async def test_friend_quota_of_the_edition(app: AppUnderTest) -> None:
    dev = await new_app(app.stack, edition="Developer")
    fans = [f"fan{i}" for i in range(20)]
    await dev.put_accounts("star", "late", "other", *fans)
    imported = await _sns(
        dev,
        "friend_import",
        {
            "From_Account": "star",
            "AddFriendItem": [{"To_Account": f, "AddSource": SOURCE} for f in fans],
        },
    )
    assert set(_codes(imported).values()) == {0}
    # From_Account is full (20 in Developer): 30010; To_Account is full: 30014.
    assert _codes(await _add(dev, "star", "late")) == {"late": 30010}
    assert _codes(await _add(dev, "other", "star")) == {"star": 30014}
    assert _codes(await _add(dev, "other", "star", AddType="Add_Type_Single")) == {"star": 0}
    overflow = await _sns(
        dev,
        "friend_import",
        {"From_Account": "star", "AddFriendItem": [{"To_Account": "late", "AddSource": SOURCE}]},
    )
    assert overflow["ResultItem"] == [
        {
            "To_Account": "late",
            "ResultCode": 30010,
            "ResultInfo": "Err_SNS_FriendImport_My_Friend_Num_Exceed_Threshold",
        }
    ]


async def test_friend_import_golden(app: AppUnderTest) -> None:
    await app.put_accounts("id", "id1", "id2")
    reply = await _sns(
        app,
        "friend_import",
        {
            "From_Account": "id",
            "AddFriendItem": [
                {
                    "To_Account": "id1",
                    "Remark": "remark1",
                    "RemarkTime": 1420000001,
                    "GroupName": ["Friends"],
                    "AddSource": "AddSource_Type_XXXXXXXX",
                    "AddWording": "I'm Test1",
                    "AddTime": 1420000001,
                    "CustomItem": [
                        {"Tag": "Tag_SNS_Custom_XXXX", "Value": "Test"},
                        {"Tag": "Tag_SNS_Custom_YYYY", "Value": 0},
                    ],
                },
                {"To_Account": "id", "AddSource": SOURCE},
                {"To_Account": "ghost", "AddSource": SOURCE},
            ],
        },
    )
    assert reply == {
        **OK,
        "ResultItem": [
            {"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""},
            {
                "To_Account": "id",
                "ResultCode": 30001,
                "ResultInfo": "Err_SNS_FriendImport_Cannot_Import_Self",
            },
            {"To_Account": "ghost", "ResultCode": 30003, "ResultInfo": "To_Account does not exist"},
        ],
        "Fail_Account": ["id", "ghost"],
    }
    # One-way: id1 did not get id.
    assert (await _relations(app, "id", "id1"))["id1"] == "CheckResult_Type_AWithB"
    got = await _sns(app, "friend_get", {"From_Account": "id", "StartIndex": 0})
    assert got["UserDataItem"] == [
        {
            "To_Account": "id1",
            "ValueItem": [
                {"Tag": "Tag_SNS_IM_AddSource", "Value": "AddSource_Type_XXXXXXXX"},
                {"Tag": "Tag_SNS_IM_Remark", "Value": "remark1"},
                {"Tag": "Tag_SNS_IM_Group", "Value": ["Friends"]},
                {"Tag": "Tag_SNS_IM_AddWording", "Value": "I'm Test1"},
                {"Tag": "Tag_SNS_IM_AddTime", "Value": 1420000001},
                {"Tag": "Tag_SNS_Custom_XXXX", "Value": "Test"},
                {"Tag": "Tag_SNS_Custom_YYYY", "Value": 0},
            ],
        }
    ]
    again = await _sns(
        app,
        "friend_import",
        {"From_Account": "id", "AddFriendItem": [{"To_Account": "id1", "AddSource": SOURCE}]},
    )
    assert _codes(again) == {"id1": 30001}
    bad = await _sns(
        app,
        "friend_import",
        {
            "From_Account": "id",
            "AddFriendItem": [
                {
                    "To_Account": "id2",
                    "AddSource": SOURCE,
                    "CustomItem": [{"Tag": "Tag_X", "Value": 1}],
                }
            ],
        },
    )
    assert (bad["ActionStatus"], bad["ErrorCode"]) == ("FAIL", 30001)


async def test_friend_update_golden(app: AppUnderTest) -> None:
    await app.put_accounts("id", "id1", "id2", "id3")
    await _add(app, "id", "id1", "id2")
    reply = await _sns(
        app,
        "friend_update",
        {
            "From_Account": "id",
            "UpdateItem": [
                {
                    "To_Account": "id1",
                    "SnsItem": [
                        {"Tag": "Tag_SNS_IM_Remark", "Value": "remark1"},
                        {"Tag": "Tag_SNS_IM_Group", "Value": ["group1", "group2"]},
                        {"Tag": "Tag_SNS_Custom_Test", "Value": "test"},
                    ],
                },
                {"To_Account": "id2", "SnsItem": [{"Tag": "Tag_SNS_IM_AddTime", "Value": 1}]},
                {"To_Account": "id3", "SnsItem": [{"Tag": "Tag_SNS_IM_Remark", "Value": "x"}]},
            ],
        },
    )
    assert reply == {
        **OK,
        "ResultItem": [
            {"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""},
            {
                "To_Account": "id2",
                "ResultCode": 30001,
                "ResultInfo": "Tag_SNS_IM_AddTime cannot be updated",
            },
            {
                "To_Account": "id3",
                "ResultCode": 30001,
                "ResultInfo": "Err_SNS_FriendUpdate_Friend_Not_Exist",
            },
        ],
        "Fail_Account": ["id2", "id3"],
    }
    listed = await _sns(
        app,
        "friend_get_list",
        {
            "From_Account": "id",
            "To_Account": ["id1"],
            "TagList": ["Tag_SNS_IM_Remark", "Tag_SNS_IM_Group", "Tag_SNS_Custom_Test"],
        },
    )
    assert listed["InfoItem"][0]["SnsProfileItem"] == [
        {"Tag": "Tag_SNS_IM_Remark", "Value": "remark1"},
        {"Tag": "Tag_SNS_IM_Group", "Value": ["group1", "group2"]},
        {"Tag": "Tag_SNS_Custom_Test", "Value": "test"},
    ]
    # Groups a friend is put in become the user's friend-list groups.
    groups = await _sns(app, "group_get", {"From_Account": "id"})
    assert groups["ResultItem"] == [
        {"GroupName": "group1", "FriendNumber": 1},
        {"GroupName": "group2", "FriendNumber": 1},
    ]
    too_many = await _sns(
        app,
        "friend_update",
        {
            "From_Account": "id",
            "UpdateItem": [
                {
                    "To_Account": "id2",
                    "SnsItem": [{"Tag": "Tag_SNS_IM_Group", "Value": [f"g{i}" for i in range(31)]}],
                }
            ],
        },
    )
    assert _codes(too_many) == {"id2": 30011}


async def test_friend_delete_and_delete_all(app: AppUnderTest) -> None:
    await app.put_accounts("id", "id1", "id2", "id3", "id4")
    await _add(app, "id", "id1", "id2", "id3")
    reply = await _sns(
        app,
        "friend_delete",
        {"From_Account": "id", "To_Account": ["id1", "id4"], "DeleteType": "Delete_Type_Single"},
    )
    assert reply == {
        **OK,
        "ResultItem": [
            {"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""},
            {
                "To_Account": "id4",
                "ResultCode": 31704,
                "ResultInfo": "Err_SNS_FriendDelete_Not_Friend",
            },
        ],
        "Fail_Account": ["id4"],
    }
    assert (await _relations(app, "id", "id1"))["id1"] == "CheckResult_Type_BWithA"
    both = await _sns(
        app,
        "friend_delete",
        {"From_Account": "id", "To_Account": ["id2"], "DeleteType": "Delete_Type_Both"},
    )
    assert _codes(both) == {"id2": 0}
    assert (await _relations(app, "id", "id2"))["id2"] == "CheckResult_Type_NoRelation"
    # DeleteType defaults to Single.
    assert _codes(
        await _sns(app, "friend_delete", {"From_Account": "id", "To_Account": ["id3"]})
    ) == {"id3": 0}
    assert (await _relations(app, "id", "id3"))["id3"] == "CheckResult_Type_BWithA"

    await _add(app, "id", "id1", "id2", "id3")
    everything = await _sns(
        app, "friend_delete_all", {"From_Account": "id", "DeleteType": "Delete_Type_Both"}
    )
    assert everything == OK
    assert set((await _relations(app, "id", "id1", "id2", "id3")).values()) == {
        "CheckResult_Type_NoRelation"
    }
    bad = await _sns(app, "friend_delete", {"From_Account": "id", "To_Account": "id1"})
    assert (bad["ActionStatus"], bad["ErrorCode"]) == ("FAIL", 30001)
    bad = await _sns(app, "friend_delete_all", {"From_Account": "id", "DeleteType": "x"})
    assert (bad["ActionStatus"], bad["ErrorCode"]) == ("FAIL", 30001)


async def test_friend_check_golden(app: AppUnderTest) -> None:
    await app.put_accounts("id", "id1", "id2", "id3", "id4")
    await _add(app, "id", "id1")
    await _add(app, "id", "id2", AddType="Add_Type_Single")
    await _add(app, "id3", "id", AddType="Add_Type_Single")
    reply = await _sns(
        app,
        "friend_check",
        {
            "From_Account": "id",
            "To_Account": ["id1", "id2", "id3", "id4"],
            "CheckType": "CheckResult_Type_Both",
        },
    )
    assert reply == {
        **OK,
        "InfoItem": [
            {
                "To_Account": "id1",
                "Relation": "CheckResult_Type_BothWay",
                "ResultCode": 0,
                "ResultInfo": "",
            },
            {
                "To_Account": "id2",
                "Relation": "CheckResult_Type_AWithB",
                "ResultCode": 0,
                "ResultInfo": "",
            },
            {
                "To_Account": "id3",
                "Relation": "CheckResult_Type_BWithA",
                "ResultCode": 0,
                "ResultInfo": "",
            },
            {
                "To_Account": "id4",
                "Relation": "CheckResult_Type_NoRelation",
                "ResultCode": 0,
                "ResultInfo": "",
            },
        ],
    }
    single = await _sns(
        app,
        "friend_check",
        {
            "From_Account": "id",
            "To_Account": ["id1", "id3"],
            "CheckType": "CheckResult_Type_Single",
        },
    )
    assert [i["Relation"] for i in single["InfoItem"]] == [
        "CheckResult_Type_AWithB",
        "CheckResult_Type_NoRelation",
    ]
    for body in (
        {"From_Account": "id", "To_Account": ["id1"]},
        {"From_Account": "id", "To_Account": ["id1"], "CheckType": "Both"},
        {"From_Account": "id", "To_Account": [], "CheckType": "CheckResult_Type_Both"},
        {
            "From_Account": "id",
            "To_Account": [f"u{i}" for i in range(1001)],
            "CheckType": "CheckResult_Type_Both",
        },
    ):
        bad = await _sns(app, "friend_check", body)
        assert (bad["ActionStatus"], bad["ErrorCode"]) == ("FAIL", 30001), body


async def test_friend_get_pages_and_sequences(app: AppUnderTest) -> None:
    friends = [f"f{i:03}" for i in range(101)]
    await app.put_accounts("id", *friends)
    imported = await _sns(
        app,
        "friend_import",
        {
            "From_Account": "id",
            "AddFriendItem": [
                {
                    "To_Account": f,
                    "AddSource": SOURCE,
                    "AddTime": 1500000000 + i,
                    "CustomItem": [{"Tag": "Tag_SNS_Custom_Test", "Value": f}],
                }
                for i, f in enumerate(friends)
            ],
        },
    )
    assert "Fail_Account" not in imported
    first = await _sns(
        app,
        "friend_get",
        {"From_Account": "id", "StartIndex": 0, "StandardSequence": 0, "CustomSequence": 0},
    )
    # Tencent's example reply's fields, ErrorDisplay included.
    assert set(first) == {
        "UserDataItem",
        "StandardSequence",
        "CustomSequence",
        "FriendNum",
        "CompleteFlag",
        "NextStartIndex",
        "ActionStatus",
        "ErrorCode",
        "ErrorInfo",
        "ErrorDisplay",
    }
    assert (first["ActionStatus"], first["ErrorCode"], first["ErrorDisplay"]) == ("OK", 0, "")
    assert [u["To_Account"] for u in first["UserDataItem"]] == friends[:100]
    assert (first["FriendNum"], first["NextStartIndex"], first["CompleteFlag"]) == (101, 100, 0)
    assert first["StandardSequence"] > 0 and first["CustomSequence"] > 0
    rest = await _sns(
        app,
        "friend_get",
        {"From_Account": "id", "StartIndex": first["NextStartIndex"]},
    )
    assert [u["To_Account"] for u in rest["UserDataItem"]] == friends[100:]
    assert (rest["NextStartIndex"], rest["CompleteFlag"]) == (0, 1)

    # Sequences the caller already holds: that part of the data is not sent again.
    cached = await _sns(
        app,
        "friend_get",
        {
            "From_Account": "id",
            "StartIndex": 100,
            "StandardSequence": first["StandardSequence"],
            "CustomSequence": 0,
        },
    )
    assert cached["UserDataItem"] == [
        {"To_Account": "f100", "ValueItem": [{"Tag": "Tag_SNS_Custom_Test", "Value": "f100"}]}
    ]
    await _sns(
        app,
        "friend_update",
        {
            "From_Account": "id",
            "UpdateItem": [
                {"To_Account": "f000", "SnsItem": [{"Tag": "Tag_SNS_IM_Remark", "Value": "r"}]}
            ],
        },
    )
    after = await _sns(app, "friend_get", {"From_Account": "id", "StartIndex": 100})
    assert after["StandardSequence"] == first["StandardSequence"] + 1
    assert after["CustomSequence"] == first["CustomSequence"]
    bad = await _sns(app, "friend_get", {"From_Account": "id"})
    assert (bad["ActionStatus"], bad["ErrorCode"]) == ("FAIL", 30001)
    bad = await _sns(app, "friend_get", {"From_Account": "id", "StartIndex": -1})
    assert (bad["ActionStatus"], bad["ErrorCode"]) == ("FAIL", 30001)


async def test_friend_get_list_golden(app: AppUnderTest) -> None:
    await app.put_accounts("UserID_1", "UserID_2", "UserID_3", "UserID_4")
    await _add(app, "UserID_1", "UserID_2", "UserID_3")
    await _sns(
        app,
        "friend_update",
        {
            "From_Account": "UserID_1",
            "UpdateItem": [
                {
                    "To_Account": "UserID_2",
                    "SnsItem": [
                        {"Tag": "Tag_SNS_IM_Remark", "Value": "remark_2"},
                        {"Tag": "Tag_SNS_IM_Group", "Value": ["group1", "group2"]},
                        {"Tag": "Tag_SNS_Custom_Test", "Value": "custom_sns_2"},
                    ],
                }
            ],
        },
    )
    async with app.stores() as stores:
        await stores.profiles.set_values(
            app.sdkappid, "UserID_2", {"Tag_Profile_Custom_Test": "custom_profile_2"}
        )
    reply = await _sns(
        app,
        "friend_get_list",
        {
            "From_Account": "UserID_1",
            "To_Account": ["UserID_2", "UserID_3", "UserID_4"],
            "TagList": [
                "Tag_Profile_Custom_Test",
                "Tag_Profile_IM_Image",
                "Tag_Profile_IM_Nick",
                "Tag_SNS_Custom_Test",
                "Tag_SNS_IM_Remark",
                "Tag_SNS_IM_Group",
            ],
        },
    )
    assert reply == {
        **OK,
        "InfoItem": [
            {
                "To_Account": "UserID_2",
                "SnsProfileItem": [
                    {"Tag": "Tag_Profile_Custom_Test", "Value": "custom_profile_2"},
                    {"Tag": "Tag_Profile_IM_Nick", "Value": "UserID_2"},
                    {"Tag": "Tag_SNS_Custom_Test", "Value": "custom_sns_2"},
                    {"Tag": "Tag_SNS_IM_Remark", "Value": "remark_2"},
                    {"Tag": "Tag_SNS_IM_Group", "Value": ["group1", "group2"]},
                ],
                "ResultCode": 0,
                "ResultInfo": "",
            },
            {
                "To_Account": "UserID_3",
                "SnsProfileItem": [{"Tag": "Tag_Profile_IM_Nick", "Value": "UserID_3"}],
                "ResultCode": 0,
                "ResultInfo": "",
            },
            {
                "To_Account": "UserID_4",
                "ResultCode": 30001,
                "ResultInfo": "Err_SNS_FriendGetList_Friend_Not_Exist",
            },
        ],
        "Fail_Account": ["UserID_4"],
    }
    for tags in ([], ["Tag_Unknown"], "Tag_SNS_IM_Remark"):
        bad = await _sns(
            app,
            "friend_get_list",
            {"From_Account": "UserID_1", "To_Account": ["UserID_2"], "TagList": tags},
        )
        assert (bad["ActionStatus"], bad["ErrorCode"]) == ("FAIL", 30001), tags


async def test_black_list_golden(app: AppUnderTest) -> None:
    await app.put_accounts("id", "id1", "id2", "id3", "id4")
    await _add(app, "id", "id1")
    added = await _sns(
        app, "black_list_add", {"From_Account": "id", "To_Account": ["id1", "id2", "id", "ghost"]}
    )
    assert added == {
        **OK,
        "ResultItem": [
            {"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""},
            {"To_Account": "id2", "ResultCode": 0, "ResultInfo": ""},
            {
                "To_Account": "id",
                "ResultCode": 30001,
                "ResultInfo": "Err_SNS_BlackListAdd_Cannot_Add_Self",
            },
            {"To_Account": "ghost", "ResultCode": 30003, "ResultInfo": "To_Account does not exist"},
        ],
        "Fail_Account": ["id", "ghost"],
    }
    again = await _sns(app, "black_list_add", {"From_Account": "id", "To_Account": ["id2"]})
    assert _codes(again) == {"id2": 30001}
    # Blocking a friend ends the friendship on both sides (Tencent's default handling).
    assert (await _relations(app, "id", "id1"))["id1"] == "CheckResult_Type_NoRelation"

    await _sns(app, "black_list_add", {"From_Account": "id3", "To_Account": ["id"]})
    checked = await _sns(
        app,
        "black_list_check",
        {
            "From_Account": "id",
            "To_Account": ["id1", "id3", "id4"],
            "CheckType": "BlackCheckResult_Type_Both",
        },
    )
    assert checked == {
        **OK,
        "BlackListCheckItem": [
            {
                "To_Account": "id1",
                "Relation": "BlackCheckResult_Type_AWithB",
                "ResultCode": 0,
                "ResultInfo": "",
            },
            {
                "To_Account": "id3",
                "Relation": "BlackCheckResult_Type_BWithA",
                "ResultCode": 0,
                "ResultInfo": "",
            },
            {
                "To_Account": "id4",
                "Relation": "BlackCheckResult_Type_NO",
                "ResultCode": 0,
                "ResultInfo": "",
            },
        ],
    }
    await _sns(app, "black_list_add", {"From_Account": "id", "To_Account": ["id3"]})
    checked = await _sns(
        app,
        "black_list_check",
        {"From_Account": "id", "To_Account": ["id3"], "CheckType": "BlackCheckResult_Type_Both"},
    )
    assert checked["BlackListCheckItem"][0]["Relation"] == "BlackCheckResult_Type_BothWay"
    async with app.stores() as stores:
        assert await is_blocked(stores, app.sdkappid, "id", "id3")
        assert await is_blocked(stores, app.sdkappid, "id1", "id")
        assert not await is_blocked(stores, app.sdkappid, "id", "id1")

    first = await _sns(
        app,
        "black_list_get",
        {"From_Account": "id", "StartIndex": 0, "MaxLimited": 2, "LastSequence": 0},
    )
    assert [i["To_Account"] for i in first["BlackListItem"]] == ["id1", "id2"]
    assert all(isinstance(i["AddBlackTimeStamp"], int) for i in first["BlackListItem"])
    assert first["StartIndex"] == 2 and first["CurruentSequence"] == 2
    second = await _sns(
        app,
        "black_list_get",
        {
            "From_Account": "id",
            "StartIndex": 2,
            "MaxLimited": 2,
            "LastSequence": first["CurruentSequence"],
        },
    )
    assert [i["To_Account"] for i in second["BlackListItem"]] == ["id3"]
    assert second["StartIndex"] == 0

    deleted = await _sns(
        app, "black_list_delete", {"From_Account": "id", "To_Account": ["id1", "id4"]}
    )
    assert deleted == {
        **OK,
        "ResultItem": [
            {"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""},
            {
                "To_Account": "id4",
                "ResultCode": 30001,
                "ResultInfo": "Err_SNS_BlackListDelete_Not_Exist",
            },
        ],
        "Fail_Account": ["id4"],
    }
    listed = await _sns(
        app, "black_list_get", {"From_Account": "id", "StartIndex": 0, "MaxLimited": 10}
    )
    assert [i["To_Account"] for i in listed["BlackListItem"]] == ["id2", "id3"]
    assert listed["CurruentSequence"] == 3
    cases: list[tuple[str, dict[str, Any]]] = [
        ("black_list_get", {"From_Account": "id", "StartIndex": 0, "MaxLimited": 0}),
        ("black_list_get", {"From_Account": "id", "MaxLimited": 5}),
        ("black_list_check", {"From_Account": "id", "To_Account": ["id1"]}),
        ("black_list_add", {"From_Account": "id"}),
        ("black_list_delete", {"From_Account": "id", "To_Account": [3]}),
    ]
    for command, body in cases:
        bad = await _sns(app, command, body)
        assert (bad["ActionStatus"], bad["ErrorCode"]) == ("FAIL", 30001), (command, body)


async def test_friend_list_groups_golden(app: AppUnderTest) -> None:
    await app.put_accounts("id", "id1", "id2", "id3")
    await _add(app, "id", "id1", "id2")
    basic = await _sns(app, "group_add", {"From_Account": "id", "GroupName": ["group1"]})
    assert basic == {**OK, "CurrentSequence": 1}
    full = await _sns(
        app,
        "group_add",
        {
            "From_Account": "id",
            "GroupName": ["group2", "group3"],
            "To_Account": ["id1", "id2", "id3"],
        },
    )
    assert full == {
        **OK,
        "CurrentSequence": 2,
        "ResultItem": [
            {"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""},
            {"To_Account": "id2", "ResultCode": 0, "ResultInfo": ""},
            {
                "To_Account": "id3",
                "ResultCode": 32216,
                "ResultInfo": "Err_SNS_GroupAdd_ToTinyId_Not_Friend",
            },
        ],
        "Fail_Account": ["id3"],
    }
    got = await _sns(app, "group_get", {"From_Account": "id", "LastSequence": 0})
    assert got == {
        **OK,
        "ResultItem": [
            {"GroupName": "group1", "FriendNumber": 0},
            {"GroupName": "group2", "FriendNumber": 2},
            {"GroupName": "group3", "FriendNumber": 2},
        ],
        "CurrentSequence": 2,
    }
    with_friends = await _sns(
        app,
        "group_get",
        {"From_Account": "id", "NeedFriend": "Need_Friend_Type_Yes", "GroupName": ["group2"]},
    )
    assert with_friends["ResultItem"] == [
        {"GroupName": "group2", "FriendNumber": 2, "To_Account": ["id1", "id2"]}
    ]
    deleted = await _sns(app, "group_delete", {"From_Account": "id", "GroupName": ["group2"]})
    assert deleted == {**OK, "CurrentSequence": 3}
    listed = await _sns(
        app,
        "friend_get_list",
        {"From_Account": "id", "To_Account": ["id1"], "TagList": ["Tag_SNS_IM_Group"]},
    )
    assert listed["InfoItem"][0]["SnsProfileItem"] == [
        {"Tag": "Tag_SNS_IM_Group", "Value": ["group3"]}
    ]
    coded: list[tuple[str, dict[str, Any], int]] = [
        ("group_add", {"From_Account": "id", "GroupName": ["group1"]}, 30001),
        ("group_add", {"From_Account": "id", "GroupName": []}, 30001),
        ("group_add", {"From_Account": "id", "GroupName": ["x" * 31]}, 30001),
        ("group_add", {"From_Account": "id", "GroupName": [f"n{i}" for i in range(31)]}, 30011),
        ("group_delete", {"From_Account": "id", "GroupName": ["group2"]}, 30001),
        ("group_get", {"From_Account": "id", "NeedFriend": "Yes"}, 30001),
        ("group_get", {"From_Account": "id", "LastSequence": -1}, 30001),
    ]
    for command, body, code in coded:
        bad = await _sns(app, command, body)
        assert (bad["ActionStatus"], bad["ErrorCode"]) == ("FAIL", code), (command, body)


async def test_apps_do_not_share_relationships(app: AppUnderTest) -> None:
    other = await new_app(app.stack)
    await app.put_accounts("a", "b")
    await other.put_accounts("a", "b")
    await _add(app, "a", "b")
    await _sns(app, "black_list_add", {"From_Account": "a", "To_Account": ["b"]})
    assert (await _relations(other, "a", "b"))["b"] == "CheckResult_Type_NoRelation"
    listed = await _sns(
        other, "black_list_get", {"From_Account": "a", "StartIndex": 0, "MaxLimited": 10}
    )
    assert listed["BlackListItem"] == []
