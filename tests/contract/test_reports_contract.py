"""ReportStore contract: reports per app, newest first, filtered by status, paged by id, and
resolved in place."""

from __future__ import annotations

from services.common.store.ports import Stores
from services.common.store.reports import DISMISSED, PENDING, UPHELD, Report, new_report_id

APP_A = 1400000401
APP_B = 1400000402


def report(sdkappid: int, created_ms: int, reporter: str = "alice") -> Report:
    return Report(
        sdkappid=sdkappid,
        report_id=new_report_id(created_ms),
        reporter=reporter,
        conversation="c2c:alice:bob",
        seq=created_ms % 1000,
        sender="bob",
        created_ms=created_ms,
        category="ads",
        reason="spam link",
        msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "cheap pills"}}],
        cloud_custom_data='{"k": 1}',
        msg_time_ms=created_ms - 5,
    )


async def test_reports_listed_newest_first_and_paged(stores: Stores) -> None:
    s = stores.reports
    made = [report(APP_A, 1_700_000_000_000 + i) for i in range(5)]
    for r in made:
        await s.add(r)
    await s.add(report(APP_B, 1_700_000_000_009))
    newest = list(reversed(made))
    first = await s.list(APP_A, None, "", 3)
    assert [r.report_id for r in first] == [r.report_id for r in newest[:3]]
    rest = await s.list(APP_A, None, first[-1].report_id, 3)
    assert [r.report_id for r in rest] == [r.report_id for r in newest[3:]]
    assert first[0] == newest[0]  # every field round-trips
    assert len(await s.list(APP_B, None, "", 10)) == 1
    assert await s.get(APP_B, made[0].report_id) is None


async def test_resolve_and_filter_by_status(stores: Stores) -> None:
    s = stores.reports
    made = [report(APP_A, 1_700_000_100_000 + i) for i in range(3)]
    for r in made:
        await s.add(r)
    done = await s.get(APP_A, made[1].report_id)
    assert done is not None and done.status == PENDING
    done.status, done.note, done.resolved_ms, done.recalled = UPHELD, "ads", 1_700_000_200_000, True
    await s.save(done)
    again = await s.get(APP_A, made[1].report_id)
    assert again == done
    pending = await s.list(APP_A, PENDING, "", 10)
    assert [r.report_id for r in pending] == [made[2].report_id, made[0].report_id]
    assert [r.report_id for r in await s.list(APP_A, UPHELD, "", 10)] == [made[1].report_id]
    assert await s.list(APP_A, DISMISSED, "", 10) == []
