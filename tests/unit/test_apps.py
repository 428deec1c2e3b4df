from services.common import apps


def test_sdkappids_start_at_1400000000() -> None:
    assert apps.next_sdkappid([]) == 1400000000
    assert apps.next_sdkappid([1400000000, 1400000007]) == 1400000008


def test_rotation_keeps_the_old_key_for_the_grace_period() -> None:
    app = apps.make_app(1400000000, "x", "pro", now=1000)
    assert app.edition == "Standard"
    old = apps.current_key(app)
    assert len(old) == 64
    new = apps.rotate_key(app, grace_s=60, now=2000)
    assert apps.current_key(app) == new
    assert app.valid_keys(2030) == [new, old]
    assert app.valid_keys(2061) == [new]
