"""Per-conversation ordering: what a client shows is each seq once, in order, with no gaps.

Seqs of a conversation are shared by both directions, so the client's own acks fill seqs too.
Pure logic, no I/O: the client feeds acks and deliveries in, and reads out what to show and
whether a gap needs a sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class ConversationOrder(Generic[T]):
    # Next seq to show; 0 until the first seq of the conversation is seen.
    next_seq: int = 0
    buffered: dict[int, T | None] = field(default_factory=dict)

    @property
    def last_seq(self) -> int:
        return max(0, self.next_seq - 1)

    @property
    def has_gap(self) -> bool:
        return bool(self.buffered)

    def offer(self, seq: int, item: T | None) -> list[T]:
        """Record seq (item None = our own send, which is never shown); return what is ready."""
        if self.next_seq == 0:
            self.next_seq = seq
        if seq < self.next_seq or seq in self.buffered:
            return []
        self.buffered[seq] = item
        ready: list[T] = []
        while self.next_seq in self.buffered:
            shown = self.buffered.pop(self.next_seq)
            if shown is not None:
                ready.append(shown)
            self.next_seq += 1
        return ready

    def skip_to(self, seq: int) -> list[T]:
        """Give up on seqs below `seq` (they are gone: expired or never stored)."""
        ready: list[T] = []
        if seq > self.next_seq:
            self.next_seq = seq
            for s in [s for s in self.buffered if s < seq]:
                del self.buffered[s]
            while self.next_seq in self.buffered:
                shown = self.buffered.pop(self.next_seq)
                if shown is not None:
                    ready.append(shown)
                self.next_seq += 1
        return ready
