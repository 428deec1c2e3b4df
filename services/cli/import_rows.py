"""The rows of a `tidings import` file: CSV or JSONL, parsed and checked for shape (malformed,
missing ids, wrong types, unknown fields), without I/O. Limits and the other rules are the
server's: it answers for them with an ErrorCode, which the importer reports per row.

Each row becomes the REST v4 fragment of one item, in Tencent's field names:
- accounts: an AccountList entry of multiaccount_import (UserID, Nick, FaceUrl);
- friends: From_Account plus an AddFriendItem entry of friend_import (To_Account, Remark,
  RemarkTime, GroupName, AddSource, AddWording, AddTime, CustomItem);
- groups: an import_group body (GroupId, Owner_Account, Type, Name, Introduction,
  Notification, FaceUrl, MaxMemberCount, ApplyJoinOption, InviteJoinOption, CreateTime,
  AppDefinedData) plus MemberList for import_group_member (Member_Account, Role, JoinTime,
  UnreadMsgNum).

In CSV, the first line names the columns; an empty cell is a field not given; GroupName and
MemberList cells are `;`-separated; friends' custom fields are columns named Tag_SNS_Custom_*;
AppDefinedData, and member roles and times, need JSONL."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["accounts", "friends", "groups"]
KINDS: tuple[Kind, ...] = ("accounts", "friends", "groups")
FORMATS = ("csv", "jsonl")

FRIEND_CUSTOM_PREFIX = "Tag_SNS_Custom_"
LIST_SEPARATOR = ";"

# Field -> its JSON type: str, int, strs (array of strings), kv (array of objects), members.
_FIELDS: dict[Kind, dict[str, str]] = {
    "accounts": {"UserID": "str", "Nick": "str", "FaceUrl": "str"},
    "friends": {
        "From_Account": "str",
        "To_Account": "str",
        "Remark": "str",
        "RemarkTime": "int",
        "GroupName": "strs",
        "AddSource": "str",
        "AddWording": "str",
        "AddTime": "int",
        "CustomItem": "kv",
    },
    "groups": {
        "GroupId": "str",
        "Owner_Account": "str",
        "Type": "str",
        "Name": "str",
        "Introduction": "str",
        "Notification": "str",
        "FaceUrl": "str",
        "MaxMemberCount": "int",
        "ApplyJoinOption": "str",
        "InviteJoinOption": "str",
        "CreateTime": "int",
        "AppDefinedData": "kv",
        "MemberList": "members",
    },
}
# Fields a row cannot go without: the importer batches and maps results by them.
_REQUIRED: dict[Kind, tuple[str, ...]] = {
    "accounts": ("UserID",),
    "friends": ("From_Account", "To_Account"),
    "groups": ("Type", "Name"),
}
# Tencent's older name of UserID (account_import's Identifier).
_ALIASES = {"Identifier": "UserID"}
_MEMBER_FIELDS = {"Member_Account": "str", "Role": "str", "JoinTime": "int", "UnreadMsgNum": "int"}
_CSV_LIST_FIELDS = ("strs", "members")


@dataclass(frozen=True, slots=True)
class Row:
    """A row to send: its line (the last line of a CSV record) and its REST fragment."""

    line: int
    item: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    reason: str
    # The server's ErrorCode when the server refused the row; None for a row found bad here.
    code: int | None = None

    def describe(self) -> str:
        code = "" if self.code is None else f"ErrorCode {self.code}: "
        return f"line {self.line}: {code}{self.reason}"


class BadHeader(ValueError):
    """A CSV header the importer cannot use: nothing is imported."""


def format_of(path_name: str, given: str | None) -> str:
    """The file's format: --format, else its extension (.csv; .jsonl, .ndjson or .json)."""
    if given is not None:
        if given not in FORMATS:
            raise ValueError(f"format {given!r} is not one of {', '.join(FORMATS)}")
        return given
    suffix = path_name.rsplit(".", 1)[-1].lower() if "." in path_name else ""
    if suffix == "csv":
        return "csv"
    if suffix in ("jsonl", "ndjson", "json"):
        return "jsonl"
    raise ValueError(f"cannot tell the format of {path_name!r} by its extension: give --format")


def _utf8_problem(value: Any) -> bool:
    """Whether a parsed value holds text that was not valid UTF-8 (read with surrogateescape)."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list):
        return any(_utf8_problem(v) for v in value)
    if isinstance(value, dict):
        return any(_utf8_problem(k) or _utf8_problem(v) for k, v in value.items())
    return False


def _type_problem(name: str, kind: str, value: Any) -> str | None:
    if kind == "str":
        return None if isinstance(value, str) else f"{name} must be a string"
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"{name} must be an integer"
    if kind == "strs":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else f"{name} must be an array of strings"
    if kind == "kv":
        ok = isinstance(value, list) and all(isinstance(v, dict) for v in value)
        return None if ok else f"{name} must be an array of objects"
    if not isinstance(value, list):
        return f"{name} must be an array"
    for member in value:
        if isinstance(member, str):
            continue
        if not isinstance(member, dict) or not isinstance(member.get("Member_Account"), str):
            return f"each {name} entry must be a UserID or an object with Member_Account"
        for field, value_kind in _MEMBER_FIELDS.items():
            if field in member and (problem := _type_problem(field, value_kind, member[field])):
                return f"{name}: {problem}"
        unknown = sorted(set(member) - set(_MEMBER_FIELDS))
        if unknown:
            return f"{name}: unknown member field {unknown[0]}"
    return None


def check_item(kind: Kind, raw: Any) -> dict[str, Any] | str:
    """The row's REST fragment, or why it is bad."""
    if not isinstance(raw, dict):
        return "must be a JSON object"
    if _utf8_problem(raw):
        return "is not valid UTF-8"
    fields = _FIELDS[kind]
    item: dict[str, Any] = {}
    for name, value in raw.items():
        name = _ALIASES.get(name, name) if kind == "accounts" else name
        if value is None:
            continue
        if name not in fields:
            return f"unknown field {name} (fields: {', '.join(fields)})"
        problem = _type_problem(name, fields[name], value)
        if problem:
            return problem
        item[name] = value
    for name in _REQUIRED[kind]:
        if not item.get(name):
            return f"{name} is missing"
    if "MemberList" in item:
        item["MemberList"] = [
            {"Member_Account": m} if isinstance(m, str) else m for m in item["MemberList"]
        ]
    return item


def csv_columns(kind: Kind, header: list[str]) -> list[str]:
    """The header's column names, checked: known fields (or friends' custom tags), once each."""
    fields = _FIELDS[kind]
    columns = [c.strip() for c in header]
    if kind == "accounts":
        columns = [_ALIASES.get(c, c) for c in columns]
    for name in columns:
        if kind == "friends" and name.startswith(FRIEND_CUSTOM_PREFIX):
            continue
        if name not in fields:
            raise BadHeader(f"column {name!r} is not a field of {kind}: use {', '.join(fields)}")
        if fields[name] == "kv":
            raise BadHeader(f"{name} does not fit a CSV column: use JSONL")
    if len(set(columns)) != len(columns):
        raise BadHeader("a column is named twice")
    missing = [n for n in _REQUIRED[kind] if n not in columns]
    if missing:
        raise BadHeader(f"no {missing[0]} column")
    return columns


def csv_item(kind: Kind, columns: list[str], cells: list[str]) -> dict[str, Any] | str:
    """A CSV record as a REST fragment, or why it is bad."""
    if len(cells) != len(columns):
        return f"has {len(cells)} fields; the header has {len(columns)}"
    raw: dict[str, Any] = {}
    custom: list[dict[str, str]] = []
    for name, cell in zip(columns, cells, strict=True):
        if cell == "":
            continue
        if name.startswith(FRIEND_CUSTOM_PREFIX) and kind == "friends":
            custom.append({"Tag": name, "Value": cell})
            continue
        kind_of = _FIELDS[kind][name]
        if kind_of == "int":
            try:
                raw[name] = int(cell.strip())
            except ValueError:
                return f"{name} must be an integer, not {cell!r}"
        elif kind_of in _CSV_LIST_FIELDS:
            raw[name] = [v.strip() for v in cell.split(LIST_SEPARATOR) if v.strip()]
        else:
            raw[name] = cell
    if custom:
        raw["CustomItem"] = custom
    return check_item(kind, raw)


def parse_csv(kind: Kind, lines: Iterable[str]) -> Iterator[Row | BadRow]:
    """The records of a CSV file (its lines, newlines kept). BadHeader on an unusable header."""
    reader = csv.reader(lines, strict=True)
    columns: list[str] | None = None
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if columns is None:
                raise BadHeader(f"line {reader.line_num}: {exc}") from None
            yield BadRow(reader.line_num, f"malformed CSV: {exc}")
            continue
        if not cells or cells == [""]:
            continue
        if columns is None:
            columns = csv_columns(kind, [c.removeprefix("\ufeff") for c in cells])
            continue
        item = csv_item(kind, columns, cells)
        yield BadRow(reader.line_num, item) if isinstance(item, str) else Row(reader.line_num, item)


def parse_jsonl(kind: Kind, lines: Iterable[str]) -> Iterator[Row | BadRow]:
    """One JSON object per line; blank lines are skipped."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
        except ValueError as exc:
            yield BadRow(number, f"not JSON: {exc}")
            continue
        item = check_item(kind, raw)
        yield BadRow(number, item) if isinstance(item, str) else Row(number, item)


def parse(kind: Kind, fmt: str, lines: Iterable[str]) -> Iterator[Row | BadRow]:
    return parse_csv(kind, lines) if fmt == "csv" else parse_jsonl(kind, lines)


# ---- batches --------------------------------------------------------------------------------

# Tencent's per-request limits: multiaccount_import 100 accounts, friend_import 100 friends of
# one From_Account, import_group one group, import_group_member 300 members.
ACCOUNTS_PER_REQUEST = 100
FRIENDS_PER_REQUEST = 100
MEMBERS_PER_REQUEST = 300


@dataclass(slots=True)
class Batch:
    """Rows sent in one request (or, for groups, one group's requests), and the rows found bad
    here between them. `last_line`: the last line the batch covers, good or bad."""

    rows: list[Row]
    bad: list[BadRow]
    last_line: int


def entity_keys(kind: Kind, rows: Sequence[Row]) -> set[str]:
    """What the batch's rows create (accounts, friendships, groups): two batches that share one
    must run in file order, so that a later duplicate is the one refused."""
    if kind == "accounts":
        return {f"user:{r.item['UserID']}" for r in rows}
    if kind == "friends":
        return {f"friend:{r.item['From_Account']}:{r.item['To_Account']}" for r in rows}
    # A group without a GroupId gets a new one from the server: it shares nothing.
    return {f"group:{r.item['GroupId']}" for r in rows if "GroupId" in r.item}


def batch_key(kind: Kind, row: Row) -> str:
    """Rows of one batch share this: friends are imported per From_Account."""
    return str(row.item["From_Account"]) if kind == "friends" else ""


def batches(kind: Kind, parsed: Iterable[Row | BadRow]) -> Iterator[Batch]:
    """Consecutive rows in Tencent-sized batches: each batch holds the bad rows read before its
    last good row, so a batch done means every line up to its last_line is done."""
    size = {"accounts": ACCOUNTS_PER_REQUEST, "friends": FRIENDS_PER_REQUEST, "groups": 1}[kind]
    current = Batch([], [], 0)
    for entry in parsed:
        if isinstance(entry, BadRow):
            current.bad.append(entry)
            current.last_line = entry.line
            continue
        if current.rows and (
            len(current.rows) >= size or batch_key(kind, current.rows[0]) != batch_key(kind, entry)
        ):
            yield current
            current = Batch([], [], 0)
        current.rows.append(entry)
        current.last_line = entry.line
    if current.rows or current.bad:
        yield current


def chunks(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---- replies --------------------------------------------------------------------------------


def account_failures(rows: list[Row], reply: dict[str, Any]) -> list[BadRow]:
    """multiaccount_import's FailAccounts: the rows whose UserID the server refused."""
    failed = set(reply.get("FailAccounts") or ())
    return [
        BadRow(r.line, f"UserID {r.item['UserID']!r} refused by the server (FailAccounts)")
        for r in rows
        if r.item["UserID"] in failed
    ]


def friend_failures(rows: list[Row], reply: dict[str, Any]) -> list[BadRow]:
    """friend_import's ResultItem, one per AddFriendItem in order: the rows it refused."""
    items = reply.get("ResultItem") or []
    bad: list[BadRow] = []
    for row, result in zip(rows, items, strict=False):
        code = int(result.get("ResultCode", 0))
        if code:
            info = result.get("ResultInfo") or "refused"
            bad.append(BadRow(row.line, f"To_Account {row.item['To_Account']!r}: {info}", code))
    return bad


def member_failures(reply: dict[str, Any]) -> list[str]:
    """import_group_member's MemberList: the members not imported (Result 0)."""
    return [m["Member_Account"] for m in reply.get("MemberList") or [] if m.get("Result") == 0]


def friend_request(rows: list[Row]) -> dict[str, Any]:
    items = [{k: v for k, v in r.item.items() if k != "From_Account"} for r in rows]
    return {"From_Account": rows[0].item["From_Account"], "AddFriendItem": items}


def group_request(row: Row) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A group row's import_group body and its members."""
    body = {k: v for k, v in row.item.items() if k != "MemberList"}
    return body, list(row.item.get("MemberList") or [])
