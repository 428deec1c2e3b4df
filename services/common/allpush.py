"""all_member_push jobs: who a push targets, and the job the gateway hands the push service.

Pure: no I/O. The gateway builds a job from an im_push request (`services/gateway/push_rules.py`
validates it) and publishes it to im.events; the push service decodes it and tests each account
with `matches`.

Condition semantics (Tencent's im_push): TagsAnd needs every listed tag, TagsOr at least one;
AttrsAnd needs every listed attribute to have the given value, AttrsOr at least one. Tags and
attributes never mix (the gateway refuses that with 90039). Tencent allows TagsAnd with TagsOr
(and AttrsAnd with AttrsOr) without saying how they combine; here an account must satisfy both.
No condition targets every account.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.common.pb.tidings.v1.envelope_pb2 import Event

EVENT_KIND = "all_member_push"


@dataclass(frozen=True, slots=True)
class Condition:
    tags_and: tuple[str, ...] = ()
    tags_or: tuple[str, ...] = ()
    # Attribute number -> value: values are stored by number, so a rename after the request
    # does not change whom the job targets.
    attrs_and: Mapping[int, str] = field(default_factory=dict)
    attrs_or: Mapping[int, str] = field(default_factory=dict)

    @property
    def by_tags(self) -> bool:
        return bool(self.tags_and or self.tags_or)

    @property
    def by_attrs(self) -> bool:
        return bool(self.attrs_and or self.attrs_or)


def matches(condition: Condition, attrs: Mapping[int, str], tags: Collection[str]) -> bool:
    """Whether an account with these attribute values and tags is a target."""
    if condition.tags_and and not all(t in tags for t in condition.tags_and):
        return False
    if condition.tags_or and not any(t in tags for t in condition.tags_or):
        return False
    if condition.attrs_and and not all(attrs.get(n) == v for n, v in condition.attrs_and.items()):
        return False
    return not condition.attrs_or or any(attrs.get(n) == v for n, v in condition.attrs_or.items())


@dataclass(frozen=True, slots=True)
class AllMemberPushJob:
    task_id: str
    sdkappid: int
    sender: str
    msg_random: int
    # Tencent's MsgBody as validated by the gateway: [{"MsgType", "MsgContent"}].
    body: list[dict[str, Any]]
    condition: Condition
    created_at_ms: int
    # Tencent's OfflinePushInfo as canonical JSON (services/common/offline_push.py), "" for none.
    offline_push_json: str = ""

    def client_msg_id(self, user: str) -> str:
        """The dedupe id of this job's message to one user: a replayed job sends it once."""
        return f"all_member_push:{self.task_id}:{user}"


def encode_job(job: AllMemberPushJob) -> bytes:
    c = job.condition
    return orjson.dumps(
        {
            "task_id": job.task_id,
            "sdkappid": job.sdkappid,
            "from": job.sender,
            "msg_random": job.msg_random,
            "body": job.body,
            "condition": {
                "tags_and": list(c.tags_and),
                "tags_or": list(c.tags_or),
                "attrs_and": {str(n): v for n, v in c.attrs_and.items()},
                "attrs_or": {str(n): v for n, v in c.attrs_or.items()},
            },
            "created_at": job.created_at_ms,
            "offline_push": job.offline_push_json,
        }
    )


def decode_job(raw: bytes) -> AllMemberPushJob:
    """The job in an im.events payload; ValueError (or KeyError, TypeError) if malformed."""
    doc = orjson.loads(raw)
    c = doc["condition"]
    job = AllMemberPushJob(
        task_id=str(doc["task_id"]),
        sdkappid=int(doc["sdkappid"]),
        sender=str(doc["from"]),
        msg_random=int(doc["msg_random"]),
        body=list(doc["body"]),
        condition=Condition(
            tags_and=tuple(str(t) for t in c["tags_and"]),
            tags_or=tuple(str(t) for t in c["tags_or"]),
            attrs_and={int(n): str(v) for n, v in c["attrs_and"].items()},
            attrs_or={int(n): str(v) for n, v in c["attrs_or"].items()},
        ),
        created_at_ms=int(doc["created_at"]),
        # Absent from jobs queued before it was carried.
        offline_push_json=str(doc.get("offline_push", "")),
    )
    if not job.task_id or not job.sender or not job.body:
        raise ValueError("an all_member_push job needs a task id, a sender and a body")
    return job


def task_id(sdkappid: int, msg_random: int) -> str:
    """Tencent: pushes with the same MsgRandom (within 7 days) are the same task, so the id is
    derived from it; a retried request gets the same TaskId and its messages are deduped."""
    return f"{sdkappid:08x}_{msg_random:08x}"


def event_key(sdkappid: int) -> bytes:
    """The im.events key of an app's jobs: one partition per app keeps them in arrival order."""
    return f"{sdkappid}:{EVENT_KIND}".encode()


def job_event(job: AllMemberPushJob) -> Event:
    return Event(
        schema_version=1,
        sdkappid=job.sdkappid,
        event_id=job.task_id,
        kind=EVENT_KIND,
        time_ms=job.created_at_ms,
        payload_json=encode_job(job),
    )
