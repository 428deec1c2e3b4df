"""Per-conversation ordering: what a client shows is each seq once, in order, with no gaps.

Seqs of a conversation are contiguous and shared by both directions, so the client's own acks
fill seqs too. Pure logic, no I/O and no clock: the client feeds acks, pushes and sync pages in,
and reads out what to show and whether a gap needs a sync.

A conversation is not started until the client knows where it starts (`start`): for a
conversation the client has not shown before, that is the user's read mark from the
conversation list, or the first push of a conversation that began after the list was read.
Until then everything offered is held. Once started, a seq above a missing one is held too
(`has_gap`), until the missing seq comes (a push, an ack, a sync page) or a sync says it never
will (`settle`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

# Seqs held before a conversation starts; past this the lowest is dropped. Dropping is safe
# when the start comes from the conversation list: the sync from the read mark brings it back.
MAX_HELD_BEFORE_START = 10_000


@dataclass
class ConversationOrder(Generic[T]):
    # Next seq to show; 0 until the conversation starts.
    next_seq: int = 0
    # Seqs offered but not shown yet: an item, or None for one of the client's own sends
    # (which fills its seq but is never shown).
    held: dict[int, T | None] = field(default_factory=dict)

    @property
    def started(self) -> bool:
        return self.next_seq != 0

    @property
    def last_seq(self) -> int:
        """The newest seq shown (or filled by an own send); 0 before the start."""
        return max(0, self.next_seq - 1)

    @property
    def highest(self) -> int:
        """The newest seq known: shown, or held above a gap."""
        return max(self.last_seq, max(self.held, default=0))

    @property
    def has_gap(self) -> bool:
        """Started, and something is held: so the seq after the last shown one is missing."""
        return self.started and bool(self.held)

    @property
    def first_held_item(self) -> int | None:
        """The lowest held seq that has an item (not an own send), if any."""
        return min((s for s, item in self.held.items() if item is not None), default=None)

    def offer(self, seq: int, item: T | None) -> list[T]:
        """Record `seq` (item None: the client's own send); return what is now ready to show,
        in order. A seq already shown or held is a duplicate and is dropped."""
        if seq <= 0:
            return []
        if not self.started:
            if seq not in self.held:
                self.held[seq] = item
                if len(self.held) > MAX_HELD_BEFORE_START:
                    del self.held[min(self.held)]
            return []
        if seq < self.next_seq or seq in self.held:
            return []
        self.held[seq] = item
        return self._release()

    def start(self, seq: int) -> list[T]:
        """Show from `seq` on: what is held below it is dropped (already read, or before the
        conversation as this client shows it). Nothing happens once started."""
        if self.started:
            return []
        self.next_seq = max(seq, 1)
        for s in [s for s in self.held if s < self.next_seq]:
            del self.held[s]
        return self._release()

    def settle(self, through: int) -> list[T]:
        """Every seq up to `through` that is not held will never come (a sync that covered it
        did not return it: expired, never stored, or not visible to this user). Show what is
        held up to there, in order, and go on from `through + 1`. Only once started."""
        if not self.started or through < self.next_seq:
            return []
        ready = [
            item
            for s in sorted(s for s in self.held if s <= through)
            if (item := self.held.pop(s)) is not None
        ]
        self.next_seq = through + 1
        return ready + self._release()

    def _release(self) -> list[T]:
        ready: list[T] = []
        while self.next_seq in self.held:
            shown = self.held.pop(self.next_seq)
            if shown is not None:
                ready.append(shown)
            self.next_seq += 1
        return ready
