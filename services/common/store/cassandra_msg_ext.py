"""MsgExtStore on Cassandra (table msg_ext in cassandra.SCHEMA_CQL): each message's extensions
are one document that changes atomically (cassandra_versioned.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from services.common.store.cassandra_versioned import VersionedDocuments
from services.common.store.msg_ext import ExtChange, MsgExtBusy, MsgExtensions

if TYPE_CHECKING:
    from services.common.store.cassandra import CassandraSession

T = TypeVar("T")


def _extensions(doc: Any) -> MsgExtensions:
    return MsgExtensions.from_doc(doc) if doc is not None else MsgExtensions()


class CassandraMsgExtStore:
    def __init__(self, cql: CassandraSession) -> None:
        self._docs = VersionedDocuments(cql, "msg_ext", ("sdkappid", "conversation", "msg_seq"))

    async def get(self, sdkappid: int, conversation: str, msg_seq: int) -> MsgExtensions:
        _, doc = await self._docs.read((sdkappid, conversation, msg_seq))
        return _extensions(doc)

    async def change(
        self, sdkappid: int, conversation: str, msg_seq: int, change: ExtChange[T]
    ) -> T:
        def apply(doc: Any) -> tuple[Any, T]:
            extensions, result = change(_extensions(doc))
            return extensions.to_doc(), result

        def busy() -> Exception:
            return MsgExtBusy(
                f"message {msg_seq} of {conversation!r}: changed concurrently too often"
            )

        return await self._docs.change((sdkappid, conversation, msg_seq), apply, busy)
