"""Message extensions: a message's custom key-value pairs, each with the extension seq of the
change that last wrote it (Tencent's message extension, used for reactions, polls and the
like).

A message's extensions are small (at most 300 pairs) and every change depends on them: a
write names the Seq it last saw of each key and fails for that key when it moved on. So a
message's extensions are one document, and a change is a function of the current document
applied atomically, as for group counters (group_kv.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Extension:
    value: str
    # The message's extension seq when this key was last set.
    seq: int


@dataclass(slots=True)
class MsgExtensions:
    """One message's extensions. `latest_seq` counts the changes of the message's extensions
    (each request that changes any key is one); `clear_seq` is the seq of the last clear."""

    latest_seq: int = 0
    clear_seq: int = 0
    items: dict[str, Extension] = field(default_factory=dict)

    def to_doc(self) -> dict[str, Any]:
        """As stored (JSON)."""
        return {
            "latest": self.latest_seq,
            "clear": self.clear_seq,
            "kv": {k: [e.value, e.seq] for k, e in self.items.items()},
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> MsgExtensions:
        return cls(
            int(doc["latest"]),
            int(doc["clear"]),
            {k: Extension(str(v), int(s)) for k, (v, s) in doc["kv"].items()},
        )


# A change: the new extensions from the current ones, and what the caller wants back. It may
# raise to refuse the change; the stored extensions then stay as they were. It may be called
# more than once (an adapter retries after losing a race), so it must not keep state.
ExtChange = Callable[[MsgExtensions], tuple[MsgExtensions, T]]


class MsgExtBusy(Exception):
    """A change lost the race to concurrent changes of the same message too many times."""


class MsgExtStore(Protocol):
    async def get(self, sdkappid: int, conversation: str, msg_seq: int) -> MsgExtensions:
        """The extensions of the conversation's message `msg_seq`; empty when it has none."""

    async def change(
        self, sdkappid: int, conversation: str, msg_seq: int, change: ExtChange[T]
    ) -> T:
        """Replace the message's extensions by `change(current)[0]`, atomically, and return
        `change(current)[1]`. MsgExtBusy when concurrent changes keep winning."""
