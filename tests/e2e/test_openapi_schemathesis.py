"""A short schemathesis run over the stack's own /openapi.json.

Every documented operation gets a few generated requests. REST v4 calls carry a valid admin
UserSig of a fresh app, so the generated bodies reach the command handlers; admin calls carry
the operator token. Nothing may answer 5xx, and every REST v4 reply must be HTTP 200 with
Tencent's ActionStatus / ErrorCode / ErrorInfo.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from services.embedded.stack import Stack
from tests.conftest import new_app

pytestmark = pytest.mark.stack

EXAMPLES_PER_OPERATION = 4


def _check(path: str, response: Any) -> None:
    assert response.status_code < 500, (path, response.status_code, response.text)
    if path.startswith("/v4/"):
        assert response.status_code == 200, (path, response.status_code, response.text)
        body = response.json()
        assert body["ActionStatus"] in ("OK", "FAIL"), (path, body)
        assert isinstance(body["ErrorCode"], int) and isinstance(body["ErrorInfo"], str), body
        assert (body["ErrorCode"] == 0) == (body["ActionStatus"] == "OK"), body


def _fuzz(operation: Any, base_url: str, auth: dict[str, Any], operator: dict[str, str]) -> None:
    path: str = operation.path

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        headers = None
        if path.startswith("/v4/"):
            case.query = {**(case.query or {}), **auth}
        elif path.startswith("/admin"):
            headers = operator
        _check(path, case.call(base_url=base_url, headers=headers, timeout=30))

    run()


@pytest.mark.timeout(120)
def test_every_documented_operation_survives_generated_requests(stack: Stack) -> None:
    app = asyncio.run(new_app(stack))
    auth = {
        "sdkappid": app.sdkappid,
        "identifier": "administrator",
        "usersig": app.sig("administrator"),
    }
    operator = {"Authorization": f"Bearer {stack.admin_token}"}
    schema = schemathesis.openapi.from_url(f"{stack.rest_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert any(op.path == "/v4/openim/sendmsg" for op in operations)
    assert any(op.path.startswith("/admin/") for op in operations)
    for operation in operations:
        _fuzz(operation, stack.rest_url, auth, operator)
