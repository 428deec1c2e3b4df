"""Relationship checks for the message path (Tencent's blocklist check and friend check on
C2C sends), backed by the relationship-chain store."""

from __future__ import annotations

from services.common.store.ports import Stores


async def is_blocked(stores: Stores, sdkappid: int, sender: str, recipient: str) -> bool:
    """The recipient has put the sender on its blocklist."""
    return bool(await stores.sns.get_blocked(sdkappid, recipient, [sender]))


async def are_friends(stores: Stores, sdkappid: int, a: str, b: str, both: bool) -> bool:
    """b is on a's friend list; with both, a is also on b's."""
    if not await stores.sns.get_friends(sdkappid, a, [b]):
        return False
    return not both or bool(await stores.sns.get_friends(sdkappid, b, [a]))
