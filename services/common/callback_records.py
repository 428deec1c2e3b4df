"""After-callback deliveries as they travel im.callbacks.retry and im.callbacks.dlq. Pure.

A record is JSON (the body is JSON already): schema_version, the SDKAppID, the event id (also
the Kafka key, so it starts with the SDKAppID), the command, Tencent's body, the client IP and
platform for the query string, how many tries from the retry topic it has had, when the next
one is due, and the last error. A delivery for an Easemob-style post-send rule names the rule
(`rule`); its body is Easemob's, signed with the rule's secret when it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

SCHEMA_VERSION = 1


@dataclass(slots=True)
class Delivery:
    sdkappid: int
    event_id: str
    command: str
    body: dict[str, Any]
    client_ip: str = ""
    platform: str = ""
    attempts: int = 0
    next_attempt_ms: int = 0
    error: str = ""
    failed_at_ms: int = 0
    rule: str = ""

    @property
    def key(self) -> bytes:
        return self.event_id.encode()

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "schema_version": SCHEMA_VERSION,
                "sdkappid": self.sdkappid,
                "event_id": self.event_id,
                "command": self.command,
                "body": self.body,
                "client_ip": self.client_ip,
                "platform": self.platform,
                "attempts": self.attempts,
                "next_attempt_ms": self.next_attempt_ms,
                "error": self.error,
                "failed_at_ms": self.failed_at_ms,
                "rule": self.rule,
            }
        )

    @classmethod
    def decode(cls, raw: bytes | None) -> Delivery:
        try:
            doc = orjson.loads(raw or b"")
        except orjson.JSONDecodeError:
            raise ValueError("not JSON") from None
        if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION:
            raise ValueError("not a callback delivery record")
        try:
            delivery = cls(
                sdkappid=int(doc["sdkappid"]),
                event_id=str(doc["event_id"]),
                command=str(doc["command"]),
                body=doc["body"],
                client_ip=str(doc.get("client_ip", "")),
                platform=str(doc.get("platform", "")),
                attempts=int(doc.get("attempts", 0)),
                next_attempt_ms=int(doc.get("next_attempt_ms", 0)),
                error=str(doc.get("error", "")),
                failed_at_ms=int(doc.get("failed_at_ms", 0)),
                rule=str(doc.get("rule", "")),
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError("a callback delivery record misses a field") from None
        if not isinstance(delivery.body, dict):
            raise ValueError("a callback delivery body must be an object")
        return delivery
