"""`tidings import` without a stack: rows parsed and checked from CSV and JSONL with their line
numbers, Tencent-sized batches, replies mapped back to rows, and the importer's split of a
refused batch and in-order commits, against a fake REST client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from services.cli import import_rows
from services.cli.import_rows import BadHeader, BadRow, Row
from services.cli.importer import Importer, ImportState, ImportStopped, import_batches


def parse(kind: str, fmt: str, text: str) -> list[Row | BadRow]:
    return list(import_rows.parse(kind, fmt, text.splitlines(keepends=True)))  # type: ignore[arg-type]


def test_accounts_csv_rows_and_bad_rows_by_line() -> None:
    text = (
        "UserID,Nick,FaceUrl\n"
        "alice,Alice,http://x/a.png\n"
        "bob,,\n"
        "carol,Carol\n"
        "\n"
        ',"no id",\n'
        'dave,"two\nlines",\n'
        "erin,Erin,x,extra\n"
    )
    assert parse("accounts", "csv", text) == [
        Row(2, {"UserID": "alice", "Nick": "Alice", "FaceUrl": "http://x/a.png"}),
        Row(3, {"UserID": "bob"}),
        BadRow(4, "has 2 fields; the header has 3"),
        BadRow(6, "UserID is missing"),
        Row(8, {"UserID": "dave", "Nick": "two\nlines"}),
        BadRow(9, "has 4 fields; the header has 3"),
    ]


def test_accounts_jsonl_types_and_malformed_lines() -> None:
    lines = [
        json.dumps({"UserID": "alice", "Nick": "Alice"}),
        "{not json",
        json.dumps({"UserID": 7}),
        json.dumps({"Identifier": "bob", "Nick": None}),
        json.dumps(["alice"]),
        "",
        json.dumps({"UserID": "carol", "Nickname": "C"}),
        json.dumps({"UserID": "dave", "FaceUrl": 3}),
    ]
    parsed = parse("accounts", "jsonl", "\n".join(lines) + "\n")
    assert [(type(p).__name__, p.line) for p in parsed] == [
        ("Row", 1),
        ("BadRow", 2),
        ("BadRow", 3),
        ("Row", 4),
        ("BadRow", 5),
        ("BadRow", 7),
        ("BadRow", 8),
    ]
    assert parsed[3] == Row(4, {"UserID": "bob"})
    reasons = [p.reason for p in parsed if isinstance(p, BadRow)]
    assert reasons[0].startswith("not JSON")
    assert reasons[1:] == [
        "UserID must be a string",
        "must be a JSON object",
        "unknown field Nickname (fields: UserID, Nick, FaceUrl)",
        "FaceUrl must be a string",
    ]


def test_invalid_utf8_is_a_bad_row() -> None:
    raw = b"UserID,Nick\nalice,A\nbob,\xff\xfe\n"
    text = raw.decode("utf-8", errors="surrogateescape")
    assert parse("accounts", "csv", text)[1] == BadRow(3, "is not valid UTF-8")


def test_csv_header_must_name_known_fields() -> None:
    with pytest.raises(BadHeader, match="'Nickname' is not a field of accounts"):
        parse("accounts", "csv", "UserID,Nickname\na,b\n")
    with pytest.raises(BadHeader, match="no To_Account column"):
        parse("friends", "csv", "From_Account,Remark\na,b\n")
    with pytest.raises(BadHeader, match="CustomItem does not fit a CSV column"):
        parse("friends", "csv", "From_Account,To_Account,CustomItem\n")


def test_friends_csv_lists_integers_and_custom_columns() -> None:
    text = (
        "From_Account,To_Account,Remark,GroupName,AddSource,AddTime,Tag_SNS_Custom_Level\n"
        "alice,bob,Bobby,work; golf,AddSource_Type_Web,1700000000,3\n"
        "alice,carol,,,AddSource_Type_Web,yesterday,\n"
    )
    assert parse("friends", "csv", text) == [
        Row(
            2,
            {
                "From_Account": "alice",
                "To_Account": "bob",
                "Remark": "Bobby",
                "GroupName": ["work", "golf"],
                "AddSource": "AddSource_Type_Web",
                "AddTime": 1700000000,
                "CustomItem": [{"Tag": "Tag_SNS_Custom_Level", "Value": "3"}],
            },
        ),
        BadRow(3, "AddTime must be an integer, not 'yesterday'"),
    ]


def test_groups_member_lists() -> None:
    lines = [
        json.dumps(
            {
                "GroupId": "g1",
                "Type": "Public",
                "Name": "G",
                "MemberList": ["a", {"Member_Account": "b", "Role": "Admin"}],
            }
        ),
        json.dumps({"Type": "Public", "Name": "G", "MemberList": [{"Role": "Admin"}]}),
        json.dumps({"Type": "Public", "Name": "G", "MaxMemberCount": "9"}),
        json.dumps(
            {"Type": "Public", "Name": "G", "MemberList": [{"Member_Account": "a", "x": 1}]}
        ),
        json.dumps({"GroupId": "g2", "Name": "G"}),
    ]
    parsed = parse("groups", "jsonl", "\n".join(lines))
    assert parsed[0] == Row(
        1,
        {
            "GroupId": "g1",
            "Type": "Public",
            "Name": "G",
            "MemberList": [{"Member_Account": "a"}, {"Member_Account": "b", "Role": "Admin"}],
        },
    )
    assert [p.reason for p in parsed[1:] if isinstance(p, BadRow)] == [
        "each MemberList entry must be a UserID or an object with Member_Account",
        "MaxMemberCount must be an integer",
        "MemberList: unknown member field x",
        "Type is missing",
    ]
    csv_rows = parse("groups", "csv", "GroupId,Type,Name,MemberList\ng3,Work,W,a;b;\n")
    assert csv_rows == [
        Row(
            2,
            {
                "GroupId": "g3",
                "Type": "Work",
                "Name": "W",
                "MemberList": [{"Member_Account": "a"}, {"Member_Account": "b"}],
            },
        )
    ]
    body, members = import_rows.group_request(csv_rows[0])  # type: ignore[arg-type]
    assert body == {"GroupId": "g3", "Type": "Work", "Name": "W"}
    assert len(members) == 2


def test_format_by_extension_or_option() -> None:
    assert import_rows.format_of("a.CSV", None) == "csv"
    assert import_rows.format_of("a.ndjson", None) == "jsonl"
    assert import_rows.format_of("a.txt", "jsonl") == "jsonl"
    with pytest.raises(ValueError, match="give --format"):
        import_rows.format_of("accounts", None)
    with pytest.raises(ValueError, match="not one of"):
        import_rows.format_of("a.csv", "xml")


def rows(n: int, start: int = 1, owner: str | None = None) -> list[Row]:
    if owner is None:
        return [Row(i, {"UserID": f"u{i}"}) for i in range(start, start + n)]
    return [Row(i, {"From_Account": owner, "To_Account": f"u{i}"}) for i in range(start, start + n)]


def test_batches_hold_the_bad_rows_before_them_and_split_by_owner() -> None:
    parsed: list[Row | BadRow] = [*rows(150), BadRow(151, "x"), *rows(10, 152)]
    made = list(import_rows.batches("accounts", parsed))
    assert [(len(b.rows), len(b.bad), b.last_line) for b in made] == [
        (100, 0, 100),
        (60, 1, 161),
    ]
    friends = [*rows(3, 1, "a"), *rows(2, 4, "b"), BadRow(6, "y")]
    made = list(import_rows.batches("friends", friends))
    assert [(len(b.rows), len(b.bad), b.last_line) for b in made] == [(3, 0, 3), (2, 1, 6)]
    assert import_rows.friend_request(made[1].rows) == {
        "From_Account": "b",
        "AddFriendItem": [{"To_Account": "u4"}, {"To_Account": "u5"}],
    }
    groups = list(import_rows.batches("groups", [Row(1, {}), Row(2, {})]))
    assert [b.last_line for b in groups] == [1, 2]


def test_replies_name_the_refused_rows() -> None:
    batch = rows(3)
    assert import_rows.account_failures(batch, {"FailAccounts": ["u2"]}) == [
        BadRow(2, "UserID 'u2' refused by the server (FailAccounts)")
    ]
    friends = rows(2, 1, "a")
    reply = {
        "ResultItem": [
            {"To_Account": "u1", "ResultCode": 0},
            {"To_Account": "u2", "ResultCode": 30003, "ResultInfo": "To_Account does not exist"},
        ]
    }
    assert import_rows.friend_failures(friends, reply) == [
        BadRow(2, "To_Account 'u2': To_Account does not exist", 30003)
    ]
    members = {
        "MemberList": [{"Member_Account": "a", "Result": 1}, {"Member_Account": "b", "Result": 0}]
    }
    assert import_rows.member_failures(members) == ["b"]
    assert BadRow(4, "too long", 70402).describe() == "line 4: ErrorCode 70402: too long"


class FakeRest:
    """multiaccount_import that refuses a whole request holding a Nick of "long", and lists
    ids starting with "!" in FailAccounts; `fatal` answers a wrong-key error."""

    def __init__(self, fatal: bool = False) -> None:
        self.requests = 0
        self.fatal = fatal

    async def call(self, service: str, command: str, body: dict[str, Any]) -> dict[str, Any]:
        self.requests += 1
        await asyncio.sleep(0)
        if self.fatal:
            return {"ErrorCode": 70009, "ErrorInfo": "wrong key"}
        entries = body["AccountList"]
        if any(e.get("Nick") == "long" for e in entries):
            return {"ErrorCode": 70402, "ErrorInfo": "Nick is longer than 500 bytes"}
        return {
            "ErrorCode": 0,
            "FailAccounts": [e["UserID"] for e in entries if e["UserID"][0] == "!"],
        }


async def test_a_refused_batch_is_split_down_to_its_bad_rows() -> None:
    batch_rows = rows(100)
    batch_rows[10] = Row(11, {"UserID": "u11", "Nick": "long"})
    batch_rows[70] = Row(71, {"UserID": "!bad"})
    fake = FakeRest()
    result = await Importer(fake, "accounts").run(  # type: ignore[arg-type]
        import_rows.Batch(batch_rows, [BadRow(101, "not JSON")], 101)
    )
    assert result.imported == 98
    assert [b.describe() for b in result.bad] == [
        "line 11: ErrorCode 70402: Nick is longer than 500 bytes",
        "line 71: UserID '!bad' refused by the server (FailAccounts)",
        "line 101: not JSON",
    ]
    # One request, then halves down to the row: about 2 log2(100), not 100.
    assert fake.requests <= 16


async def test_commits_advance_in_order_and_a_fatal_error_stops() -> None:
    parsed: list[Row | BadRow] = [*rows(450), BadRow(451, "bad")]
    state = ImportState("accounts", 1, "f")
    committed: list[int] = []

    def commit(current: ImportState, bad: list[BadRow]) -> None:
        committed.append(current.line)

    result = await import_batches(
        Importer(FakeRest(), "accounts"),  # type: ignore[arg-type]
        import_rows.batches("accounts", parsed),
        state,
        commit,
        concurrency=3,
    )
    assert committed == [100, 200, 300, 400, 451]
    assert (result.imported, result.bad, result.stopped) == (450, 1, None)
    assert (state.line, state.imported, state.bad) == (451, 450, 1)

    stopped = ImportState("accounts", 1, "f")
    result = await import_batches(
        Importer(FakeRest(fatal=True), "accounts"),  # type: ignore[arg-type]
        import_rows.batches("accounts", parsed),
        stopped,
        commit,
        concurrency=2,
    )
    assert result.stopped == "ErrorCode 70009: wrong key"
    assert stopped.line == 0
    with pytest.raises(ImportStopped):
        await Importer(FakeRest(fatal=True), "accounts").run(  # type: ignore[arg-type]
            import_rows.Batch(rows(1), [], 1)
        )


def test_batches_that_create_the_same_entity_share_a_key() -> None:
    from services.cli.import_rows import Row, entity_keys

    a = [Row(1, {"GroupId": "g1", "Type": "Public", "Name": "A"})]
    again = [Row(3, {"GroupId": "g1", "Type": "Public", "Name": "Again"})]
    anonymous = [Row(4, {"Type": "Public", "Name": "no id"})]
    assert entity_keys("groups", a) & entity_keys("groups", again)
    assert not entity_keys("groups", anonymous)
    friends = [Row(1, {"From_Account": "a", "To_Account": "b"})]
    assert entity_keys("friends", friends) == {"friend:a:b"}
    assert entity_keys("accounts", [Row(1, {"UserID": "u"})]) == {"user:u"}
