"""`tidings import` against the running stack: accounts, friends and groups from CSV and JSONL,
with bad rows of every sort named by line number (found bad by the CLI, or refused by the server
with its ErrorCode), the rest imported, a run stopped by --max-rows resumed from its state
file, and the result read back through REST."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from services.embedded.stack import Stack
from tests.conftest import AppUnderTest

SOURCE = "AddSource_Type_Web"


def run_tidings(stack: Stack, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The CLI as an operator runs it, finding the stack through its data dir."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        # Wide enough that rich does not wrap an error box's message.
        env={**os.environ, "TIDINGS_DATA_DIR": str(stack.data_dir), "COLUMNS": "400"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def tidings(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_tidings, stack, *args)


def bad_lines(stderr: str) -> dict[int, str]:
    """The reported bad rows: line number -> reason."""
    found: dict[int, str] = {}
    for text in stderr.splitlines():
        if text.startswith("line "):
            number, _, reason = text.removeprefix("line ").partition(": ")
            found[int(number)] = reason
    return found


async def statuses(app: AppUnderTest, *users: str) -> dict[str, str]:
    reply = await app.rest(
        "im_open_login_svc", "account_check", {"CheckItem": [{"UserID": u} for u in users]}
    )
    return {r["UserID"]: r["AccountStatus"] for r in reply["ResultItem"]}


async def test_import_accounts_csv_reports_bad_rows_and_resumes(
    app: AppUnderTest, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "UserID,Nick,FaceUrl\n"
        "csv1,One,http://img/1.png\n"
        "csv2,Two,\n"
        ",No id,\n"
        f"csv3,{'n' * 600},\n"
        "csv4,Four,x,extra\n"
        f"{'u' * 40},Long id,\n"
        "csv5,Five,\n"
    )
    app_id = str(app.sdkappid)
    first = await tidings(
        app.stack, "import", "--app", app_id, "accounts", str(path), "--max-rows", "3"
    )
    assert first.returncode == 1, first.stderr
    assert bad_lines(first.stderr) == {4: "UserID is missing"}
    assert "this run: 2 imported, 1 bad" in first.stdout
    state = json.loads((tmp_path / "accounts.csv.tidings-import.json").read_text())
    assert (state["line"], state["imported"], state["bad"]) == (4, 2, 1)
    assert await statuses(app, "csv1", "csv2", "csv5") == {
        "csv1": "Imported",
        "csv2": "Imported",
        "csv5": "NotImported",
    }

    second = await tidings(app.stack, "import", "--app", app_id, "accounts", str(path))
    assert second.returncode == 1, second.stderr
    bad = bad_lines(second.stderr)
    assert sorted(bad) == [5, 6, 7]
    assert bad[5].startswith("ErrorCode 70402: Nick")
    assert bad[6] == "has 4 fields; the header has 3"
    assert bad[7] == f"UserID {'u' * 40!r} refused by the server (FailAccounts)"
    assert "this run: 1 imported, 3 bad" in second.stdout
    assert "in all: 3 imported, 4 bad, up to line 8" in second.stdout
    assert await statuses(app, "csv3", "csv4", "csv5") == {
        "csv3": "NotImported",
        "csv4": "NotImported",
        "csv5": "Imported",
    }
    profile = await app.rest(
        "profile",
        "portrait_get",
        {"To_Account": ["csv1"], "TagList": ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image"]},
    )
    tags = {p["Tag"]: p["Value"] for p in profile["UserProfileItem"][0]["ProfileItem"]}
    assert tags == {"Tag_Profile_IM_Nick": "One", "Tag_Profile_IM_Image": "http://img/1.png"}

    # Done: a third run has nothing left, and says so.
    third = await tidings(app.stack, "import", "--app", app_id, "accounts", str(path))
    assert "this run: 0 imported, 0 bad" in third.stdout
    assert bad_lines(third.stderr) == {}


async def test_import_accounts_jsonl(app: AppUnderTest, tmp_path: Path) -> None:
    path = tmp_path / "accounts.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"UserID": "js1", "Nick": "J1"}),
                "{oops",
                json.dumps({"UserID": "js2", "Nick": 5}),
                json.dumps({"Identifier": "js3"}),
                json.dumps({"UserID": "js4", "Nick": "x" * 501}),
            ]
        )
        + "\n"
    )
    done = await tidings(app.stack, "import", "--app", str(app.sdkappid), "accounts", str(path))
    assert done.returncode == 1
    bad = bad_lines(done.stderr)
    assert sorted(bad) == [2, 3, 5]
    assert bad[2].startswith("not JSON")
    assert bad[3] == "Nick must be a string"
    assert bad[5].startswith("ErrorCode 70402")
    assert await statuses(app, "js1", "js2", "js3", "js4") == {
        "js1": "Imported",
        "js2": "NotImported",
        "js3": "Imported",
        "js4": "NotImported",
    }


async def friends_of(app: AppUnderTest, user: str) -> dict[str, dict[str, Any]]:
    got = await app.rest("sns", "friend_get", {"From_Account": user, "StartIndex": 0})
    return {
        u["To_Account"]: {v["Tag"]: v["Value"] for v in u["ValueItem"]}
        for u in got.get("UserDataItem") or []
    }


async def test_import_friends_csv_and_jsonl(app: AppUnderTest, tmp_path: Path) -> None:
    await app.put_accounts("fa", "fb", "fc", "fd")
    csv_path = tmp_path / "friends.csv"
    csv_path.write_text(
        "From_Account,To_Account,Remark,GroupName,AddSource\n"
        f"fa,fb,Bee,work;golf,{SOURCE}\n"
        f"fa,fc,,,{SOURCE}\n"
        f"fa,fa,,,{SOURCE}\n"
        f"fa,nobody,,,{SOURCE}\n"
        "fb,fa,,,Not_A_Source\n"
        f"fb,fc,,,{SOURCE}\n"
        f"fb,,,,{SOURCE}\n"
    )
    app_id = str(app.sdkappid)
    done = await tidings(app.stack, "import", "--app", app_id, "friends", str(csv_path))
    assert done.returncode == 1, done.stderr
    bad = bad_lines(done.stderr)
    assert sorted(bad) == [4, 5, 6, 8]
    assert bad[4].startswith("ErrorCode 30001: To_Account 'fa': ")
    assert bad[5].startswith("ErrorCode 30003: To_Account 'nobody'")
    assert bad[6].startswith("ErrorCode 30001: AddSource")
    assert bad[8] == "To_Account is missing"
    mine = await friends_of(app, "fa")
    assert sorted(mine) == ["fb", "fc"]
    assert mine["fb"]["Tag_SNS_IM_Remark"] == "Bee"
    assert mine["fb"]["Tag_SNS_IM_Group"] == ["work", "golf"]
    assert sorted(await friends_of(app, "fb")) == ["fc"]

    jsonl_path = tmp_path / "friends.jsonl"
    jsonl_path.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "From_Account": "fc",
                        "To_Account": "fd",
                        "AddSource": SOURCE,
                        "CustomItem": [{"Tag": "Tag_SNS_Custom_Level", "Value": "gold"}],
                    }
                ),
                json.dumps({"From_Account": "fc", "To_Account": "fa", "GroupName": "solo"}),
                json.dumps({"From_Account": "fc", "To_Account": "fd", "AddSource": SOURCE}),
            ]
        )
    )
    done = await tidings(app.stack, "import", "--app", app_id, "friends", str(jsonl_path))
    assert done.returncode == 1, done.stderr
    bad = bad_lines(done.stderr)
    assert bad[2] == "GroupName must be an array of strings"
    # Already a friend (from line 1): the server's refusal, with its code.
    assert bad[3].startswith("ErrorCode 30001: To_Account 'fd'")
    assert sorted(bad) == [2, 3]
    theirs = await friends_of(app, "fc")
    assert theirs["fd"]["Tag_SNS_Custom_Level"] == "gold"


async def members_of(app: AppUnderTest, group_id: str) -> dict[str, str]:
    got = await app.rest("group_open_http_svc", "get_group_member_info", {"GroupId": group_id})
    assert got["ErrorCode"] == 0, got
    return {m["Member_Account"]: m["Role"] for m in got["MemberList"]}


async def test_import_groups_jsonl_and_csv_resumed(app: AppUnderTest, tmp_path: Path) -> None:
    await app.put_accounts("ga", "gb", "gc")
    prefix = f"cli{app.sdkappid}"
    path = tmp_path / "groups.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "GroupId": f"{prefix}a",
                        "Owner_Account": "ga",
                        "Type": "Public",
                        "Name": "Alpha",
                        "MemberList": ["gb", {"Member_Account": "gc", "Role": "Admin"}],
                    }
                ),
                json.dumps({"GroupId": f"{prefix}b", "Type": "NoSuchType", "Name": "B"}),
                json.dumps({"GroupId": f"{prefix}a", "Type": "Public", "Name": "Again"}),
                json.dumps(
                    {
                        "GroupId": f"{prefix}c",
                        "Type": "Private",
                        "Name": "C",
                        "MemberList": ["ghost"],
                    }
                ),
                json.dumps({"GroupId": f"{prefix}d", "Name": "no type"}),
            ]
        )
    )
    app_id = str(app.sdkappid)
    done = await tidings(app.stack, "import", "--app", app_id, "groups", str(path))
    assert done.returncode == 1, done.stderr
    bad = bad_lines(done.stderr)
    assert sorted(bad) == [2, 3, 4, 5]
    assert bad[2].startswith("ErrorCode 10004")
    assert bad[3].startswith("ErrorCode 10021")
    assert bad[4].startswith(f"ErrorCode 10019: group {prefix}c imported, its members refused")
    assert bad[5] == "Type is missing"
    assert await members_of(app, f"{prefix}a") == {"ga": "Owner", "gb": "Member", "gc": "Admin"}

    csv_path = tmp_path / "groups.csv"
    csv_path.write_text(
        "GroupId,Owner_Account,Type,Name,MaxMemberCount,MemberList\n"
        f"{prefix}e,ga,Work,E,,gb\n"
        f"{prefix}f,gb,Public,F,many,ga\n"
        f"{prefix}g,gc,Public,G,50,ga;gb\n"
    )
    first = await tidings(
        app.stack, "import", "--app", app_id, "groups", str(csv_path), "--max-rows", "1"
    )
    assert first.returncode == 0, first.stderr
    assert "in all: 1 imported, 0 bad, up to line 2" in first.stdout
    second = await tidings(app.stack, "import", "--app", app_id, "groups", str(csv_path))
    assert second.returncode == 1
    assert bad_lines(second.stderr) == {3: "MaxMemberCount must be an integer, not 'many'"}
    assert await members_of(app, f"{prefix}e") == {"ga": "Owner", "gb": "Member"}
    assert await members_of(app, f"{prefix}g") == {"gc": "Owner", "ga": "Member", "gb": "Member"}


async def test_import_refuses_a_bad_header_and_a_wrong_key(
    app: AppUnderTest, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("UserID,Nickname\nx,y\n")
    app_id = str(app.sdkappid)
    refused = await tidings(app.stack, "import", "--app", app_id, "accounts", str(path))
    assert refused.returncode == 2
    assert "'Nickname' is not a field of accounts" in refused.stderr
    path.write_text("UserID\nk1\nk2\n")
    stopped = await tidings(
        app.stack, "import", "--app", app_id, "--key", "wrong", "accounts", str(path)
    )
    assert stopped.returncode == 3, stopped.stderr
    assert "stopped: ErrorCode 700" in stopped.stdout
    assert bad_lines(stopped.stderr) == {}
    assert await statuses(app, "k1") == {"k1": "NotImported"}
