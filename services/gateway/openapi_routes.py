"""/openapi.json: FastAPI's own schema (the admin API and the generic REST v4 route) plus one
documented path per implemented REST v4 command.

The command paths are documentation only: every /v4/<service>/<command> request is still served
by the one generic route, so its common checks and the always-200 envelope apply to all of them.
A command module may export `REQUEST_MODELS = {command: PydanticModel}` to describe its request
body; other commands are documented with a JSON object body.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"
REPLY = "RestV4Reply"

QUERY_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "sdkappid",
        "in": "query",
        "required": True,
        "schema": {"type": "integer"},
        "description": "the app's SDKAppID",
    },
    {
        "name": "identifier",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
        "description": "an app admin account",
    },
    {
        "name": "usersig",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
        "description": "the admin account's UserSig",
    },
    {
        "name": "random",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": 4294967295},
    },
    {
        "name": "contenttype",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["json"]},
    },
]

REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Tencent's reply envelope, always with HTTP 200, plus the command's fields",
    "required": ["ActionStatus", "ErrorCode", "ErrorInfo"],
    "properties": {
        "ActionStatus": {"type": "string", "enum": ["OK", "FAIL"]},
        "ErrorCode": {"type": "integer"},
        "ErrorInfo": {"type": "string"},
    },
    "additionalProperties": True,
}


def request_model(handler: Callable[..., Any], command: str) -> type[BaseModel] | None:
    module = inspect.getmodule(handler)
    models: Mapping[str, type[BaseModel]] = getattr(module, "REQUEST_MODELS", {})
    return models.get(command)


def rest_v4_paths(
    services: Mapping[str, Mapping[str, Callable[..., Any]]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(paths, component schemas) for every service/command."""
    models = {
        (service, command): model
        for service, commands in services.items()
        for command, handler in commands.items()
        if (model := request_model(handler, command)) is not None
    }
    unique = list(dict.fromkeys(models.values()))
    refs, defs = models_json_schema([(m, "validation") for m in unique], ref_template=REF)
    components: dict[str, Any] = {**defs.get("$defs", {}), REPLY: REPLY_SCHEMA}
    paths: dict[str, Any] = {}
    for service in sorted(services):
        for command in sorted(services[service]):
            model = models.get((service, command))
            body = refs[(model, "validation")] if model else {"type": "object"}
            paths[f"/v4/{service}/{command}"] = {
                "post": {
                    "tags": [f"REST v4 {service}"],
                    "summary": f"{service}/{command} (Tencent Cloud IM REST v4)",
                    "operationId": f"v4_{service}_{command}",
                    "parameters": QUERY_PARAMETERS,
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": body}},
                    },
                    "responses": {
                        "200": {
                            "description": "ActionStatus, ErrorCode, ErrorInfo and the reply",
                            "content": {
                                "application/json": {"schema": {"$ref": REF.format(model=REPLY)}}
                            },
                        }
                    },
                }
            }
    return paths, components


def install_openapi(app: FastAPI, services: Mapping[str, Mapping[str, Callable[..., Any]]]) -> None:
    """Serve FastAPI's schema with the command paths added; built once, on first request, when
    every command module has registered."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            paths, components = rest_v4_paths(services)
            schema["paths"].update(paths)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
