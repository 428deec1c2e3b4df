"""Issue 11's scripted check: every command of Tencent's REST API list
(docs/tencent_rest_commands.tsv) is routed by the gateway or left out with a reason, each routed one
is called by an e2e test, and the README gives the count and names what is left out."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "tencent_commands", ROOT / "scripts" / "tencent_commands.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first: its dataclasses look their module up while being made.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_data_file_holds_the_public_list_cross_checked(script: ModuleType) -> None:
    commands = script.load_commands()
    names = [c.command for c in commands]
    assert len(names) == len(set(names))
    by_source = {s: {c.command for c in commands if s in c.sources} for s in ("en", "intl", "cn")}
    # trtc.io's list counts 96; its older intl copy is the same list before follow/* and
    # delete_group_attr were added, and the Chinese list differs in a handful of entries.
    assert len(by_source["en"]) == 96
    assert by_source["intl"] < by_source["en"]
    assert len(by_source["en"] & by_source["cn"]) >= 85
    assert all(re.fullmatch(r"[A-Za-z0-9_]+/[A-Za-z0-9_]+", n) for n in names)


def test_every_command_is_routed_or_left_out_with_a_reason(script: ModuleType) -> None:
    commands = script.load_commands()
    routes = script.tidings_routes()
    rows = script.compare(commands, routes)
    assert [r.command for r in rows if r.status == "NOT ROUTED"] == []
    assert script.extra_routes(commands, routes) == []
    listed = {c.command for c in commands}
    for command, reason in script.LEFT_OUT.items():
        assert command in listed, f"{command} is left out but not in Tencent's list"
        assert command not in routes, f"{command} is routed now: drop it from LEFT_OUT"
        assert reason.strip()
    for route, command in script.ALIASES.items():
        assert route in routes and command in routes and command in listed, route


def test_every_routed_command_has_an_e2e_test(script: ModuleType) -> None:
    rows = script.compare(script.load_commands(), script.tidings_routes())
    assert [r.command for r in rows if r.status == "routed" and not r.tests] == []


def test_a_test_counts_only_with_the_service_named(script: ModuleType) -> None:
    sources = {
        "test_a.py": 'SVC = "openim"\nawait app.rest(SVC, "sendmsg", body)',
        "test_b.py": 'await app.rest("sns", "sendmsg", body)',
    }
    assert script.calling_tests("openim/sendmsg", sources) == ("test_a.py",)


def test_an_unrouted_command_without_a_reason_is_flagged(script: ModuleType) -> None:
    commands = script.load_commands()
    routes = script.tidings_routes() - {"openim/sendmsg"}
    rows = script.compare(commands, routes)
    assert [r.command for r in rows if r.status == "NOT ROUTED"] == ["openim/sendmsg"]


def test_the_readme_gives_the_count_and_names_what_is_left_out(script: ModuleType) -> None:
    readme = (ROOT / "README.md").read_text()
    counts = script.count(script.compare(script.load_commands(), script.tidings_routes()))
    assert counts.sentence() in " ".join(readme.split())
    for command in script.LEFT_OUT:
        service = command.split("/")[0]
        assert f"`{command}`" in readme or f"`{service}/*`" in readme, command
