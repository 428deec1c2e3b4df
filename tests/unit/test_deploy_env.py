"""Every TIDINGS_* variable that deploy/ sets is a setting the services read: a misspelt one
would be ignored in silence (pydantic-settings drops unknown environment variables)."""

from __future__ import annotations

import re
from pathlib import Path

from services.common.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# A variable set in a manifest or env file: `TIDINGS_X=`, `name: TIDINGS_X`, `- TIDINGS_X=`.
ASSIGNED = re.compile(r"(?:^|[\s\-:])(TIDINGS_[A-Z0-9_]+)(?==|\s*$)", re.MULTILINE)
NAMED = re.compile(r"name:\s*(TIDINGS_[A-Z0-9_]+)")


def deploy_variables() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in DEPLOY.rglob("*"):
        if path.suffix not in {".env", ".yaml", ".yml"}:
            continue
        text = path.read_text(encoding="utf-8")
        for name in set(ASSIGNED.findall(text)) | set(NAMED.findall(text)):
            found.setdefault(name, []).append(str(path.relative_to(DEPLOY)))
    return found


def test_deploy_sets_only_settings_that_exist() -> None:
    fields = {f"TIDINGS_{name.upper()}" for name in Settings.model_fields}
    found = deploy_variables()
    assert "TIDINGS_KAFKA_BOOTSTRAP" in found, "the scan found nothing: check its patterns"
    unknown = {name: where for name, where in found.items() if name not in fields}
    assert not unknown, unknown
