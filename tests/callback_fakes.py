"""In-memory stand-ins for the callback service's consumer tests: an app store, a group store,
a dispatcher that records what it was given, and records and messages to feed it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka.structs import ConsumerRecord

from services.common.callback_config import CallbackConfig
from services.common.callback_records import Delivery
from services.common.conversation import c2c
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    MESSAGE_KIND_MESSAGE,
    Message,
)
from services.common.store.ports import App

URL = "https://example.com/cb"
# Not a protobuf: field 15, wire type 7 (no such wire type).
GARBAGE = b"\x7f\xff\xff"


def app(
    sdkappid: int = 1400000001, commands: Any = None, rules: Sequence[dict[str, Any]] = ()
) -> App:
    a = App(sdkappid=sdkappid, name="t", edition="Standard", keys=[])
    if commands is not None:
        a.settings["callback"] = {"url": URL, "token": "t", "commands": commands}
    if rules:
        a.settings["callback_rules"] = {
            "pre_send": [],
            "post_send": [{"name": f"r{i}", "url": URL, **r} for i, r in enumerate(rules)],
        }
    return a


class Apps:
    def __init__(self, *apps: App) -> None:
        self.apps = {a.sdkappid: a for a in apps}
        self.reads = 0

    async def get_app(self, sdkappid: int) -> App | None:
        self.reads += 1
        return self.apps.get(sdkappid)


class Versions:
    """ConfigVersions in memory: `bump` is what a writer does after changing an app."""

    def __init__(self) -> None:
        self.versions: dict[int, int] = {}

    async def bump(self, sdkappid: int) -> int:
        self.versions[sdkappid] = self.versions.get(sdkappid, 0) + 1
        return self.versions[sdkappid]

    async def read(self, sdkappids: Iterable[int]) -> dict[int, int]:
        return {app: self.versions.get(app, 0) for app in sdkappids}

    read_or_none = read


class Groups:
    async def get_group(self, sdkappid: int, group_id: str) -> Any:
        return None


class Dispatched:
    def __init__(self) -> None:
        self.batches: list[list[tuple[Delivery, CallbackConfig]]] = []

    async def dispatch(self, work: Sequence[tuple[Delivery, CallbackConfig]]) -> None:
        self.batches.append(list(work))


async def no_unread(sdkappid: int, user: str) -> int:
    return 0


def record(topic: str, key: bytes | None, value: bytes, offset: int = 0) -> Any:
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value),
        headers=(),
    )


def message(sdkappid: int, seq: int = 1) -> Message:
    return Message(
        schema_version=1,
        sdkappid=sdkappid,
        conversation=c2c("alice", "bob"),
        chat_type=CHAT_TYPE_C2C,
        kind=MESSAGE_KIND_MESSAGE,
        sender="alice",
        to_user="bob",
        seq=seq,
        msg_key=f"1_{seq}_1",
    )
