"""The retry backoff of after-callbacks and the per-app circuit breaker. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common import topics

# The longest wait between two tries from the retry topic.
MAX_RETRY_DELAY_S = 60.0
# Retry-topic tries 1 to FAST_TRIES (waits of up to 4 times the base: 8 s at the default 2 s)
# come from im.callbacks.retry, the later ones from im.callbacks.retry.slow. Each consumer holds
# its batch until the batch's last record is due: on one topic, a record waiting a minute for an
# app server that has failed for a while held up every other app's first retry behind it.
FAST_TRIES = 3


def retry_topic(attempt: int) -> topics.Topic:
    """The topic retry-topic try `attempt` (1, 2, ...) waits on."""
    return topics.CALLBACKS_RETRY if attempt <= FAST_TRIES else topics.CALLBACKS_RETRY_SLOW


def retry_delay_s(attempt: int, base_s: float, jitter: float) -> float:
    """The wait before retry-topic try `attempt` (1, 2, ...): base doubling per try, capped,
    with "equal jitter" (`jitter` in [0, 1)) so a burst that failed together spreads out."""
    ceiling = min(MAX_RETRY_DELAY_S, base_s * 2.0 ** max(0, attempt - 1))
    return ceiling / 2 + ceiling / 2 * jitter


@dataclass(slots=True)
class Breaker:
    """Per app: after `threshold` failures in a row, inline tries are skipped for `cooldown_s`
    (deliveries go straight to the retry topic), so one app server that is down does not hold
    a partition of im.messages that other apps' messages share. One success closes it."""

    threshold: int = 5
    cooldown_s: float = 10.0
    _failures: dict[int, int] = field(default_factory=dict)
    _open_until: dict[int, float] = field(default_factory=dict)

    def allows(self, sdkappid: int, now: float) -> bool:
        return self._open_until.get(sdkappid, 0.0) <= now

    def record(self, sdkappid: int, ok: bool, now: float) -> None:
        if ok:
            self._failures.pop(sdkappid, None)
            self._open_until.pop(sdkappid, None)
            return
        failures = self._failures.get(sdkappid, 0) + 1
        self._failures[sdkappid] = failures
        if failures >= self.threshold:
            self._open_until[sdkappid] = now + self.cooldown_s
