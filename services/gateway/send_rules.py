"""What the send rules (handlers/send.py) read: the directory, this node's throttle buckets,
and each app's messaging settings, validated once per app record."""

from __future__ import annotations

from dataclasses import dataclass

from services.common import messaging_settings
from services.common.app_settings import Rate
from services.common.store.ports import App
from services.gateway import avchatroom
from services.gateway.directory import Directory
from services.gateway.throttle import TokenBuckets, check_send_rate, send_rate


@dataclass(frozen=True, slots=True)
class SendSettings:
    """An app's messaging settings that a send reads, validated once per app record."""

    send_rate: Rate
    c2c_friend_check: bool
    blocklist_send_error: bool
    avchatroom_rate: Rate

    @classmethod
    def of(cls, app: App) -> SendSettings:
        return cls(
            send_rate=send_rate(app),
            c2c_friend_check=bool(messaging_settings.value(app.settings, "c2c_friend_check")),
            blocklist_send_error=bool(
                messaging_settings.value(app.settings, "blocklist_send_error")
            ),
            avchatroom_rate=avchatroom.msg_rate(app),
        )


class SendRules:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        # This node's buckets: per (app, sender), and per (app, live group).
        self.senders = TokenBuckets()
        self.rooms = TokenBuckets()
        # sdkappid -> (the App record they were read from, its SendSettings). The app cache
        # hands out a new App object whenever it reloads the record, so identity says whether
        # the settings are still those of the current record.
        self._settings: dict[int, tuple[App, SendSettings]] = {}

    def settings(self, app: App) -> SendSettings:
        held = self._settings.get(app.sdkappid)
        if held is not None and held[0] is app:
            return held[1]
        settings = SendSettings.of(app)
        self._settings[app.sdkappid] = (app, settings)
        return settings

    def throttle(self, app: App, sender: str, group: bool) -> None:
        check_send_rate(self.senders, app, self.settings(app).send_rate, sender, group)
