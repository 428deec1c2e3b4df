"""The App document: one JSON text per app, shared by every store adapter."""

from __future__ import annotations

import json
from typing import Any

from services.common.store.ports import App, AppKey


def app_to_doc(app: App) -> str:
    return json.dumps(
        {
            "sdkappid": app.sdkappid,
            "name": app.name,
            "edition": app.edition,
            "keys": [{"key": k.key, "valid_until": k.valid_until} for k in app.keys],
            "admins": app.admins,
            "settings": app.settings,
            "created_at": app.created_at,
            "org_name": app.org_name,
            "app_name": app.app_name,
        }
    )


def doc_to_app(doc: str) -> App:
    d: dict[str, Any] = json.loads(doc)
    return App(
        sdkappid=d["sdkappid"],
        name=d["name"],
        edition=d["edition"],
        keys=[AppKey(k["key"], k["valid_until"]) for k in d["keys"]],
        admins=d["admins"],
        settings=d["settings"],
        created_at=d["created_at"],
        org_name=d.get("org_name", ""),
        app_name=d.get("app_name", ""),
    )
