"""Robot ids and the robot listing's pages (openim_robot_http_svc), without I/O."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.gateway.rest_v4.robots import robot_id, robots_on_page


def test_robot_ids_start_with_the_prefix_within_32_bytes() -> None:
    assert robot_id("@RBT#001", "UserID") == "@RBT#001"
    assert robot_id("@RBT#" + "x" * 27, "UserID") == "@RBT#" + "x" * 27
    for bad in ("user1", "@RBT#", "@rbt#001", "RBT#001", "@RBT#" + "x" * 28, "", None, 7):
        with pytest.raises(TidingsError) as err:
            robot_id(bad, "UserID")
        assert err.value.code == ErrorCode.GROUP_INVALID_PARAM, bad


def test_a_page_past_the_prefix_ends_the_listing() -> None:
    assert robots_on_page(["@RBT#1", "@RBT#2"]) == (["@RBT#1", "@RBT#2"], False)
    assert robots_on_page(["@RBT#9", "@RBU", "alice"]) == (["@RBT#9"], True)
    assert robots_on_page(["alice"]) == ([], True)
    assert robots_on_page([]) == ([], False)
