"""The push service's im.trace records: one per push job, once every device has its outcome
(services/common/trace.py's table gives the codes). Pure, but for `traced_outcomes`, which
hands them to the service's Tracer."""

from __future__ import annotations

from collections.abc import Sequence

from services.common import trace
from services.common.pb.tidings.v1.envelope_pb2 import PushJob, TraceEvent
from services.common.trace import Tracer, clip, new_trace
from services.push.delivery import (
    FAILED,
    NO_CREDENTIALS,
    SENT,
    TOKEN_INVALID,
    DeviceOutcome,
    JobOutcome,
    OutcomeObserver,
)

# A job's code when no device got it: the first outcome any device had, in this order.
_CODES = (
    (FAILED, trace.PUSH_FAILED),
    (TOKEN_INVALID, trace.PUSH_TOKEN_INVALID),
    (NO_CREDENTIALS, trace.PUSH_NO_CREDENTIALS),
)


def push_code(devices: Sequence[DeviceOutcome]) -> int:
    outcomes = {d.outcome for d in devices}
    if SENT in outcomes:
        return 0
    for outcome, code in _CODES:
        if outcome in outcomes:
            return code
    return trace.PUSH_SKIPPED


def _device(d: DeviceOutcome) -> str:
    return f"{d.vendor}:{d.outcome}" + (f"({d.vendor_code})" if d.vendor_code else "")


def push_trace(job: PushJob, outcome: JobOutcome, now_ms: float) -> TraceEvent:
    """The job's record: the skip reason, or each device's outcome (and a template that could
    not be used); the vendors in `detail`; latency from the message's receipt."""
    message = job.message
    if outcome.skipped is not None:
        description = outcome.skipped
    else:
        parts = [_device(d) for d in outcome.devices]
        if outcome.template_error:
            parts.append(f"template: {outcome.template_error}")
        description = ", ".join(parts) or "no notification"
    received = message.received_at_ms
    return new_trace(
        job.sdkappid,
        trace.PUSH,
        job.user,
        code=trace.PUSH_SKIPPED if outcome.skipped is not None else push_code(outcome.devices),
        description=clip(description),
        group_id=message.group_id,
        request_id=message.msg_key,
        latency_ms=max(0, int(now_ms - received)) if received else 0,
        detail=",".join(sorted({d.vendor for d in outcome.devices})),
    )


def traced_outcomes(tracer: Tracer) -> OutcomeObserver:
    def observe(job: PushJob, outcome: JobOutcome, now_ms: float) -> None:
        tracer.trace(push_trace(job, outcome, now_ms))

    return observe
