"""`tidings tail --app ID [--conversation c2c:A:B | --group GID | --user U]`: an app's messages
live, read from im.messages (the log of record), one line each, until Ctrl-C.

No consumer group: every partition is assigned, so nothing is committed and no group join
waits. Where to start: Tansu answers ListOffsets wrongly (INFRA.md). Measured against the
embedded broker: end_offsets gave 76 where the fetch high watermark was 80 (inside the last
record batch: too early), and offsets_for_times for a time after the last record gave offset 0
with timestamp -1 (Kafka answers none), which would replay everything. So the tail seeks to
end_offsets and drops every record older than its start: an offset too early only re-reads a
few records, and one past the end is out of range, which resets to the earliest offset, again
filtered by time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from google.protobuf.message import DecodeError

from services.common import conversation, topics
from services.common.config import get_settings
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    MESSAGE_KIND_DELETE_BY_SENDER,
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    MESSAGE_KIND_SYSTEM_NOTIFICATION,
    Message,
)

SUMMARY_CHARS = 80
_KIND_LABELS = {
    MESSAGE_KIND_RECALL: "[recall]",
    MESSAGE_KIND_MODIFY: "[modify]",
    MESSAGE_KIND_SYSTEM_NOTIFICATION: "[system]",
    MESSAGE_KIND_DELETE_BY_SENDER: "[delete by sender]",
}


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """Which of an app's messages to show: all, one conversation (its id), or one user's."""

    sdkappid: int
    conversation: str | None = None
    user: str | None = None

    @property
    def key_prefix(self) -> bytes:
        """Records are keyed by app and conversation: the cheap test before decoding."""
        return conversation.kafka_key(self.sdkappid, self.conversation or "")

    def matches(self, m: Message) -> bool:
        if m.sdkappid != self.sdkappid:
            return False
        if self.conversation is not None and m.conversation != self.conversation:
            return False
        if self.user is None:
            return True
        return m.sender == self.user or (
            m.chat_type == CHAT_TYPE_C2C and self.user in conversation.parts(m.conversation)[1:]
        )


def conversation_id(text: str) -> str:
    """A conversation as the operator writes it: c2c:A:B (either order), group:GID or
    topic:GID:TOPIC (`:` inside an id written %3A, as in conversation ids)."""
    kind, *ids = conversation.parts(text.strip())
    if kind == conversation.C2C and len(ids) == 2 and all(ids):
        return conversation.c2c(ids[0], ids[1])
    if kind == conversation.GROUP and len(ids) == 1 and ids[0]:
        return conversation.group(ids[0])
    if kind == conversation.TOPIC and len(ids) == 2 and all(ids):
        return conversation.topic(ids[0], ids[1])
    raise ValueError(f"{text!r} is not a conversation: write c2c:A:B, group:GID or topic:GID:T")


def text_summary(m: Message) -> str:
    """The message's text, or its element types, on one line of at most SUMMARY_CHARS."""
    parts: list[str] = []
    for e in m.elements:
        text = None
        if e.msg_type == "TIMTextElem":
            try:
                content = json.loads(e.content_json or b"{}")
            except ValueError:
                content = {}
            text = content.get("Text") if isinstance(content, dict) else None
        parts.append(text if isinstance(text, str) else f"[{e.msg_type}]")
    summary = " ".join(parts).replace("\n", " ")
    return summary if len(summary) <= SUMMARY_CHARS else summary[: SUMMARY_CHARS - 1] + "…"


def describe(m: Message) -> str:
    """time (UTC), conversation, seq, sender -> recipient, text."""
    when = datetime.fromtimestamp(m.server_time_ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]
    kind, *ids = conversation.parts(m.conversation)
    where = f"{kind}:{':'.join(ids)}"
    to = m.to_user if m.chat_type == CHAT_TYPE_C2C else (m.group_id or ids[0])
    label = _KIND_LABELS.get(m.kind, "")
    body = f"{label} {text_summary(m)}".strip()
    return f"{when}  {where}  seq {m.seq}  {m.sender or '-'} -> {to}  {body}"


async def tail(
    bootstrap: str,
    wanted: MessageFilter,
    show: Callable[[str], None],
    ready: Callable[[str], None],
) -> None:
    """Show each message of `wanted` produced after the start, until cancelled."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=200,
    )
    await consumer.start()
    try:
        start_ms = int(time.time() * 1000)
        await consumer.topics()
        name = topics.MESSAGES.name
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        if not partitions:
            raise typer.BadParameter(f"no topic {name} on {bootstrap}: run `tidings topics ensure`")
        consumer.assign(partitions)
        for tp, offset in (await consumer.end_offsets(partitions)).items():
            consumer.seek(tp, offset)
        ready(f"watching {name} ({len(partitions)} partitions) on {bootstrap}; Ctrl-C stops")
        prefix = wanted.key_prefix
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for r in records:
                    if r.timestamp < start_ms or not (r.key or b"").startswith(prefix):
                        continue
                    try:
                        m = Message.FromString(r.value or b"")
                    except DecodeError:
                        continue
                    if wanted.matches(m):
                        show(describe(m))
    finally:
        await consumer.stop()


def tail_cmd(
    app_id: int = typer.Option(..., "--app", help="the app's SDKAppID"),
    conv: str | None = typer.Option(
        None, "--conversation", help="one conversation: c2c:A:B, group:GID or topic:GID:T"
    ),
    group: str | None = typer.Option(None, "--group", help="one group's messages"),
    user: str | None = typer.Option(None, "--user", help="messages a user sends or gets (C2C)"),
    bootstrap: str | None = typer.Option(
        None, "--bootstrap", help="Kafka bootstrap (default: TIDINGS_KAFKA_BOOTSTRAP)"
    ),
) -> None:
    """Watch an app's messages live (all, one conversation, a group or a user) until Ctrl-C."""
    if sum(v is not None for v in (conv, group, user)) > 1:
        raise typer.BadParameter("give at most one of --conversation, --group and --user")
    try:
        conv_id = conversation_id(conv) if conv is not None else None
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    if group is not None:
        conv_id = conversation.group(group)
    servers = bootstrap or get_settings().kafka_bootstrap
    if not servers:
        raise typer.BadParameter("no Kafka: give --bootstrap or set TIDINGS_KAFKA_BOOTSTRAP")
    wanted = MessageFilter(app_id, conv_id, user)

    def show(line: str) -> None:
        print(line, flush=True)

    def ready(line: str) -> None:
        typer.echo(line, err=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(tail(servers, wanted, show, ready))
