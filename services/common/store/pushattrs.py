"""Per-app push targeting data for all_member_push: attribute names, user attributes, user tags.

An app has up to 10 numbered attributes (0..9), each with a name. A user's values are kept by
attribute number, not by name: Tencent defines a name as the label of "the Nth attribute", so
renaming attribute N relabels the values users already have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class PushAttrStore(Protocol):
    async def get_attr_names(self, sdkappid: int) -> dict[int, str]:
        """Attribute number -> name."""

    async def set_attr_names(self, sdkappid: int, names: Mapping[int, str]) -> None:
        """Set the names of the given attribute numbers; the others keep theirs."""

    async def get_attrs(self, sdkappid: int, users: Sequence[str]) -> dict[str, dict[int, str]]:
        """Each user's values by attribute number; users with no value are left out."""

    async def set_attrs(self, sdkappid: int, attrs: Mapping[str, Mapping[int, str]]) -> None:
        """Set values per user; the user's other attributes stay."""

    async def remove_attrs(self, sdkappid: int, attrs: Mapping[str, Sequence[int]]) -> None:
        """Remove the given attribute numbers per user."""

    async def get_tags(self, sdkappid: int, users: Sequence[str]) -> dict[str, list[str]]:
        """Each user's tags, sorted; users with no tag are left out."""

    async def add_tags(self, sdkappid: int, tags: Mapping[str, Sequence[str]]) -> None:
        """Add tags per user; a tag the user already has is kept once."""

    async def remove_tags(self, sdkappid: int, tags: Mapping[str, Sequence[str]]) -> None: ...

    async def remove_all_tags(self, sdkappid: int, users: Sequence[str]) -> None: ...
