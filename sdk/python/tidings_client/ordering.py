"""Per-conversation ordering: what a client shows is each seq once, in order, with no gaps.

Seqs of a conversation are shared by both directions, so the client's own acks fill seqs too.
Pure logic, no I/O: the client feeds acks and deliveries in, and reads out what to show and
whether a gap needs a sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

# Own acks kept before the conversation's first shown message; older ones are dropped (a gap
# they leave is filled from history).
MAX_EARLY_ACKS = 1000


@dataclass
class ConversationOrder(Generic[T]):
    # Next seq to show; 0 until the first seq of the conversation is seen.
    next_seq: int = 0
    buffered: dict[int, T | None] = field(default_factory=dict)

    @property
    def last_seq(self) -> int:
        return max(0, self.next_seq - 1)

    @property
    def started(self) -> bool:
        return self.next_seq != 0

    @property
    def has_gap(self) -> bool:
        return self.started and bool(self.buffered)

    def offer(self, seq: int, item: T | None) -> list[T]:
        """Record seq (item None = our own send, which is never shown); return what is ready.

        The first message shown, not our first ack, says where a new conversation starts: an
        ack can overtake a peer's earlier message that is still on its way to us."""
        if not self.started:
            if item is None:
                self.buffered[seq] = None
                if len(self.buffered) > MAX_EARLY_ACKS:
                    del self.buffered[min(self.buffered)]
                return []
            self._start(seq)
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
        """Give up on seqs below `seq` (they are gone: expired or never stored), or start a
        conversation there."""
        ready: list[T] = []
        if seq > self.next_seq:
            self._start(seq)
            while self.next_seq in self.buffered:
                shown = self.buffered.pop(self.next_seq)
                if shown is not None:
                    ready.append(shown)
                self.next_seq += 1
        return ready

    def _start(self, seq: int) -> None:
        self.next_seq = seq
        for s in [s for s in self.buffered if s < seq]:
            del self.buffered[s]
