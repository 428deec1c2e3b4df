"""Group types for the callbacks' `Type` field. A group's type never changes, so a type read
once is kept (bounded, oldest out first)."""

from __future__ import annotations

from services.common.store.groups import GroupStore

MAX_ENTRIES = 100_000


class GroupTypes:
    def __init__(self, store: GroupStore) -> None:
        self._store = store
        self._types: dict[tuple[int, str], str] = {}

    async def type_of(self, sdkappid: int, group_id: str) -> str:
        """The group's type, or "" for a group that is gone."""
        key = (sdkappid, group_id)
        cached = self._types.get(key)
        if cached is not None:
            return cached
        group = await self._store.get_group(sdkappid, group_id)
        if group is None:
            return ""
        if len(self._types) >= MAX_ENTRIES:
            del self._types[next(iter(self._types))]
        self._types[key] = group.group_type
        return group.group_type
