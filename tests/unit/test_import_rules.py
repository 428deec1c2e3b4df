"""DESIGN.md's import rules: common imports no service; a service imports common and never
another service; the tools (the CLI, the embedded launcher) import common and each other, and
nothing imports them but the tests; the SDK imports nothing of the server."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "router", "callback", "push", "audit")
TOOLS = ("cli", "embedded")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def sources(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.py") if "pb" not in p.relative_to(folder).parts]


def test_common_imports_no_service_and_no_tool() -> None:
    for path in sources(ROOT / "services" / "common"):
        for mod in imported_modules(path):
            assert not any(mod.startswith(f"services.{s}") for s in SERVICES + TOOLS), (path, mod)


@pytest.mark.parametrize("tool", TOOLS)
def test_a_tool_imports_only_common_and_the_tools(tool: str) -> None:
    allowed = tuple(f"services.{t}" for t in ("common", *TOOLS))
    for path in sources(ROOT / "services" / tool):
        for mod in imported_modules(path):
            if mod.startswith("services."):
                assert mod.startswith(allowed), (path, mod)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_only_common_and_itself(service: str) -> None:
    for path in sources(ROOT / "services" / service):
        for mod in imported_modules(path):
            if mod.startswith("services."):
                assert mod.startswith(("services.common", f"services.{service}")), (path, mod)


def test_sdk_is_independent_of_the_server() -> None:
    for path in sources(ROOT / "sdk" / "python"):
        for mod in imported_modules(path):
            assert not mod.startswith("services"), (path, mod)


def test_pure_logic_modules_do_no_io() -> None:
    pure = [
        ROOT / "services/common/usersig.py",
        ROOT / "services/common/conversation.py",
        ROOT / "services/common/apps.py",
        ROOT / "services/gateway/quotas.py",
        ROOT / "services/gateway/frames.py",
        ROOT / "services/gateway/frames_proto.py",
        ROOT / "services/gateway/bounds.py",
        ROOT / "services/gateway/frame_budget.py",
        ROOT / "services/gateway/msgbody.py",
        ROOT / "services/common/msgbody.py",
        ROOT / "services/common/callback_config.py",
        ROOT / "services/common/callback_records.py",
        ROOT / "services/callback/signing.py",
        ROOT / "services/callback/retry.py",
        ROOT / "sdk/python/tidings_client/ordering.py",
        ROOT / "sdk/python/tidings_client/frames.py",
    ]
    io_modules = (
        "aiokafka",
        "redis",
        "grpc",
        "sqlite3",
        "cassandra",
        "httpx",
        "socket",
        "websockets",
    )
    for path in pure:
        for mod in imported_modules(path):
            assert not mod.startswith(io_modules), (path, mod)
