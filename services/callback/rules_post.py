"""Easemob-style post-send rules, on the callback service's consumers of im.messages (stream
`chat`) and im.push (stream `offline`, services/callback/consumer.py): their callbacks go to the
after-callbacks' Dispatcher, so they share its inline tries, im.callbacks.retry, the DLQ and its
replay.

- chat: every new message (not imports, not recalls) that passes a rule's filters, with
  eventType "chat"; `to` is the C2C peer or the group.
- offline: im.push holds one PushJob for each recipient the router found with no device
  online; each becomes one event, eventType "chat_offline", whose `to` is that member.

Each delivery's event id is app:conversation:seq:rule:<name>[:<offline member>], the Kafka key
on the retry topic and TidingsEventId in the body, the same on every try.
"""

from __future__ import annotations

from services.callback.groups import GroupTypes
from services.callback.interest import AppView
from services.callback.rules_body import appkey, chat_type, facts, post_send_body, rule_target
from services.common import keys
from services.common.callback_config import CallbackConfig
from services.common.callback_records import Delivery
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_UNSPECIFIED,
    SOURCE_REST,
    Message,
)

POST_SEND_LABEL = "Easemob.PostSend"


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
    """What an app's post-send rules deliver for one message (services/callback/consumer.py
    reads and decodes the records)."""

    def __init__(self, groups: GroupTypes) -> None:
        self._groups = groups

    async def plan(
        self, m: Message, view: AppView, offline_user: str | None
    ) -> list[tuple[Delivery, CallbackConfig]]:
        """The deliveries of `m` in the chat stream (`offline_user` None) or to one offline
        member in the offline stream."""
        if not is_new_message(m):
            return []
        rules = view.rules("chat" if offline_user is None else "offline")
        if not rules:
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
        key = appkey(view.app)
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
