"""AdminAuditStore contract: entries newest first, across apps or of one, filtered by actor,
action (itself or below it) and time range, paged by id; every field round-trips."""

from __future__ import annotations

from services.common.store.admin_audit import DAY_MS, AuditEntry, AuditQuery, new_entry_id
from services.common.store.ports import Stores

APP_A = 1400000501
APP_B = 1400000502
T0 = 1_700_000_000_000


def entry(
    sdkappid: int,
    time_ms: int,
    action: str = "app.settings.update",
    actor: str = "operator",
) -> AuditEntry:
    return AuditEntry(
        sdkappid=sdkappid,
        entry_id=new_entry_id(time_ms),
        time_ms=time_ms,
        actor=actor,
        source="admin_api",
        client_ip="10.1.2.3",
        action=action,
        resource="",
        before={"ip_whitelist": []},
        after={"ip_whitelist": ["10.0.0.0/8"], "nested": {"n": 1, "list": [1, "two"]}},
    )


def window(**kwargs: object) -> AuditQuery:
    return AuditQuery(since_ms=T0 - 10 * DAY_MS, until_ms=T0 + 10 * DAY_MS, **kwargs)  # type: ignore[arg-type]


async def test_entries_newest_first_across_days_and_paged(stores: Stores) -> None:
    s = stores.admin_audit
    # Spread over three days, recorded out of order.
    made = [entry(APP_A, T0 + i * DAY_MS // 2) for i in range(5)]
    for e in (made[2], made[0], made[4], made[1], made[3]):
        await s.record(e)
    await s.record(entry(APP_B, T0 + 1))
    newest = sorted(made, key=lambda e: e.entry_id, reverse=True)

    first = await s.search(window(sdkappid=APP_A, limit=3))
    assert first == newest[:3]  # every field round-trips
    rest = await s.search(window(sdkappid=APP_A, limit=3, before_id=first[-1].entry_id))
    assert rest == newest[3:]
    everyone = await s.search(window(limit=10))
    assert len(everyone) == 6 and {e.sdkappid for e in everyone} == {APP_A, APP_B}
    assert [e.entry_id for e in everyone] == sorted((e.entry_id for e in everyone), reverse=True)


async def test_filters_by_actor_action_and_time(stores: Stores) -> None:
    s = stores.admin_audit
    await s.record(entry(APP_A, T0, "rules.pre_send.create", "operator"))
    await s.record(entry(APP_A, T0 + 1, "rules.post_send.delete", "alice"))
    await s.record(entry(APP_A, T0 + 2, "rulesx.other", "operator"))
    await s.record(entry(APP_A, T0 + DAY_MS, "words.add", "administrator"))

    def actions(found: list[AuditEntry]) -> list[str]:
        return [e.action for e in found]

    assert actions(await s.search(window(action="rules"))) == [
        "rules.post_send.delete",
        "rules.pre_send.create",
    ]
    # An underscore is a character, not a wildcard.
    assert actions(await s.search(window(action="rules.pre_send"))) == ["rules.pre_send.create"]
    assert actions(await s.search(window(action="rules.pre-send"))) == []
    assert actions(await s.search(window(actor="alice"))) == ["rules.post_send.delete"]
    assert actions(await s.search(window(actor="operator", action="rules"))) == [
        "rules.pre_send.create"
    ]
    inside = AuditQuery(since_ms=T0 + 1, until_ms=T0 + 2)
    assert actions(await s.search(inside)) == ["rulesx.other", "rules.post_send.delete"]
    assert actions(await s.search(AuditQuery(since_ms=T0 + DAY_MS, until_ms=T0 + DAY_MS))) == [
        "words.add"
    ]
    assert await s.search(AuditQuery(since_ms=T0 - DAY_MS, until_ms=T0 - 1)) == []
    assert await s.search(window(sdkappid=APP_B)) == []
