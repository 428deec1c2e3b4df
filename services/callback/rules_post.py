"""Easemob-style post-send rules: consumers of im.messages (stream `chat`) and im.push (stream
`offline`) that hand their callbacks to the after-callbacks' Dispatcher, so they share its
inline tries, im.callbacks.retry, the DLQ and its replay.

- chat: every new message (not imports, not recalls) that passes a rule's filters, with
  eventType "chat"; `to` is the C2C peer or the group.
- offline: im.push holds one PushJob for each recipient the router found with no device
  online; each becomes one event, eventType "chat_offline", whose `to` is that member.

Each delivery's event id is app:conversation:seq:rule:<name>[:<offline member>], the Kafka key
on the retry topic and TidingsEventId in the body, the same on every try.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.callback.after import Dispatcher
from services.callback.groups import GroupTypes
from services.callback.rules_body import appkey, chat_type, facts, post_send_body, rule_target
from services.common import keys
from services.common.app_cache import AppCache
from services.common.bus import Record
from services.common.callback_config import CallbackConfig
from services.common.callback_records import Delivery
from services.common.callback_rules import rules_of
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_UNSPECIFIED,
    SOURCE_REST,
    Message,
    PushJob,
)

POST_SEND_LABEL = "Easemob.PostSend"
CHAT_GROUP = "callback.rules.chat"
OFFLINE_GROUP = "callback.rules.offline"


def is_new_message(m: Message) -> bool:
    return (
        m.kind in (MESSAGE_KIND_UNSPECIFIED, MESSAGE_KIND_MESSAGE)
        and not m.silent
        and m.chat_type in (CHAT_TYPE_C2C, CHAT_TYPE_GROUP)
    )


def rule_event_id(m: Message, rule: str, offline_user: str | None) -> str:
    # The rule name and the user are escaped: a rule named "a:b" and rule "a" for user "b"
    # must not share an id, or the app server would drop one as a duplicate.
    base = f"{m.sdkappid}:{m.conversation}:{m.seq}:rule:{keys.escape(rule)}"
    return base if offline_user is None else f"{base}:{keys.escape(offline_user)}"


class PostSendRules:
    def __init__(self, apps: AppCache, groups: GroupTypes, dispatcher: Dispatcher) -> None:
        self._apps = apps
        self._groups = groups
        self._dispatcher = dispatcher

    async def handle_messages(self, records: Sequence[Record]) -> None:
        work: list[tuple[Delivery, CallbackConfig]] = []
        for record in records:
            work.extend(await self._plan(Message.FromString(record.value or b""), None))
        await self._dispatcher.dispatch(work)

    async def handle_push(self, records: Sequence[Record]) -> None:
        work: list[tuple[Delivery, CallbackConfig]] = []
        for record in records:
            job = PushJob.FromString(record.value or b"")
            work.extend(await self._plan(job.message, job.user))
        await self._dispatcher.dispatch(work)

    async def _plan(
        self, m: Message, offline_user: str | None
    ) -> list[tuple[Delivery, CallbackConfig]]:
        if not is_new_message(m):
            return []
        app = await self._apps.get(m.sdkappid)
        stream = "chat" if offline_user is None else "offline"
        rules = [r for r in rules_of(app).post_send if r.stream == stream] if app else []
        if app is None or not rules:
            return []
        to_user = offline_user if offline_user is not None else m.to_user
        matching = [r for r in rules if r.matches(facts(m, to_user))]
        if not matching:
            return []
        group_type = (
            await self._groups.type_of(m.sdkappid, m.group_id)
            if m.chat_type == CHAT_TYPE_GROUP
            else ""
        )
        chat = chat_type(m.chat_type, group_type)
        key = appkey(app)
        work: list[tuple[Delivery, CallbackConfig]] = []
        for rule in matching:
            eid = rule_event_id(m, rule.name, offline_user)
            delivery = Delivery(
                sdkappid=m.sdkappid,
                event_id=eid,
                command=POST_SEND_LABEL,
                body=post_send_body(
                    m, app_key=key, chat=chat, offline_user=offline_user, event_id=eid
                ),
                client_ip=m.client_ip,
                platform="RESTAPI" if m.source == SOURCE_REST else m.platform,
                rule=rule.name,
            )
            work.append((delivery, rule_target(rule)))
        return work
