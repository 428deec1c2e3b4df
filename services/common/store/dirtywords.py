"""Per-app custom sensitive words (openim_dirty_words), kept as the admin entered them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class DirtyWordStore(Protocol):
    async def list_words(self, sdkappid: int) -> list[str]:
        """The app's words, sorted."""

    async def add_words(self, sdkappid: int, words: Sequence[str]) -> None:
        """Add words; one already present is kept once."""

    async def delete_words(self, sdkappid: int, words: Sequence[str]) -> None:
        """Delete words; one not present is ignored."""
