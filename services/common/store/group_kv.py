"""Per-group key-value data: group counters (integers) and group custom attributes (strings).

Both are small (at most 20 counters, 16 attributes), read whole, and changed by a rule that
depends on the current values (increase a counter, refuse a 17th attribute). So each kind of
a group is one document, and a change is a function of the current document applied
atomically: concurrent increases of one counter all count, and two writers cannot together
pass a limit that each checks alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# A change: the new values from the current ones. It may raise to refuse the change; the
# stored values then stay as they were.
CounterChange = Callable[[dict[str, int]], dict[str, int]]
AttrChange = Callable[[dict[str, str]], dict[str, str]]

# The document kinds, as stored.
COUNTERS = "counters"
ATTRS = "attrs"


class GroupKvBusy(Exception):
    """A change lost the race to concurrent changes of the same group too many times."""


class GroupKvStore(Protocol):
    async def get_counters(self, sdkappid: int, group_id: str) -> dict[str, int]:
        """The group's counters, in the order their keys were first set; {} when none."""

    async def change_counters(
        self, sdkappid: int, group_id: str, change: CounterChange
    ) -> dict[str, int]:
        """Replace the group's counters by `change(current)`, atomically; the new counters.
        GroupKvBusy when concurrent changes keep winning."""

    async def get_attrs(self, sdkappid: int, group_id: str) -> dict[str, str]:
        """The group's custom attributes, in the order their keys were first set."""

    async def change_attrs(
        self, sdkappid: int, group_id: str, change: AttrChange
    ) -> dict[str, str]:
        """Replace the group's attributes by `change(current)`, atomically; the new ones."""

    async def drop_group(self, sdkappid: int, group_id: str) -> None:
        """Forget the group's counters and attributes (the group was destroyed)."""
