from services.gateway.login_modes import (
    LoginPolicy,
    Session,
    policy_from_settings,
    sessions_to_kick,
)


def s(conn: str, platform: str, t: int) -> Session:
    return Session(conn, platform, t)


def test_mode_1_one_device_in_total() -> None:
    p = LoginPolicy(mode=1)
    assert sessions_to_kick(p, [s("a", "Android", 1), s("w", "Web", 2)], "Mac") == ["a", "w"]


def test_mode_2_one_mobile_and_one_pc_or_web() -> None:
    p = LoginPolicy(mode=2)
    existing = [s("phone", "iPhone", 1), s("web", "Web", 2)]
    assert sessions_to_kick(p, existing, "Android") == ["phone"]
    assert sessions_to_kick(p, existing, "Windows") == ["web"]


def test_mode_3_one_per_platform() -> None:
    p = LoginPolicy(mode=3)
    existing = [s("a1", "Android", 1), s("w1", "Web", 2)]
    assert sessions_to_kick(p, existing, "Android") == ["a1"]
    assert sessions_to_kick(p, existing, "iPad") == []


def test_mode_4_three_per_platform_and_ten_web_oldest_first() -> None:
    p = LoginPolicy(mode=4)
    phones = [s(f"a{i}", "Android", i) for i in (3, 1, 2)]
    assert sessions_to_kick(p, phones, "Android") == ["a1"]
    assert sessions_to_kick(p, phones, "iPhone") == []
    webs = [s(f"w{i}", "Web", i) for i in range(10)]
    assert sessions_to_kick(p, webs, "Web") == ["w0"]
    assert sessions_to_kick(p, webs[:9], "Web") == []


def test_policy_from_settings_defaults_and_validation() -> None:
    assert policy_from_settings({}) == LoginPolicy()
    assert policy_from_settings({"login": {"mode": 2}}) == LoginPolicy(mode=2)
    assert policy_from_settings({"login": {"mode": 9, "web": 0}}) == LoginPolicy()
