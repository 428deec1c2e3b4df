"""The SDK's device log (sdk/python/tidings_client/device_log.py): the last lines of the
client's records, kept whatever the app's logging configuration, and what is uploaded."""

from __future__ import annotations

import gzip
import logging

import pytest

from tidings_client import Client
from tidings_client.device_log import (
    GZIP,
    GZIP_OVER_BYTES,
    TEXT,
    DeviceLog,
    own_logger,
    upload_body,
)


def test_keeps_the_last_lines_oldest_first() -> None:
    log = DeviceLog(lines=3)
    logger = own_logger("tidings_client", log)
    for i in range(5):
        logger.info("event %d", i)
    lines = log.text().splitlines()
    assert [line.rsplit(" ", 1)[-1] for line in lines] == ["2", "3", "4"]
    assert all(" INFO tidings_client: event " in line for line in lines)
    with pytest.raises(ValueError, match="at least 1"):
        DeviceLog(lines=0)


def test_the_client_keeps_its_records_whatever_the_app_shows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client("ws://127.0.0.1:1/v1", 1400000001, "alice", "sig", log_lines=10)
    with caplog.at_level(logging.WARNING, logger="tidings_client"):
        client._note(logging.INFO, "logged in as %s", "alice")
        client._note(logging.WARNING, "log upload %s failed", "r1")
    assert "logged in as alice" in client.device_log.text()
    assert "log upload r1 failed" in client.device_log.text()
    # The app's configuration decides what it sees: here warnings only.
    assert [r.getMessage() for r in caplog.records] == ["log upload r1 failed"]


def test_an_app_logger_can_write_to_the_client_log() -> None:
    client = Client("ws://127.0.0.1:1/v1", 1400000001, "alice", "sig")
    app_logger = logging.getLogger("test_device_logs_sdk.app")
    app_logger.setLevel(logging.INFO)
    app_logger.addHandler(client.device_log)
    try:
        app_logger.info("checkout opened")
    finally:
        app_logger.removeHandler(client.device_log)
    assert "test_device_logs_sdk.app: checkout opened" in client.device_log.text()


def test_upload_body_is_text_until_large_then_gzip() -> None:
    assert upload_body("a log\n") == (b"a log\n", TEXT)
    big = b"0123456789abcdef\n" * (GZIP_OVER_BYTES // 16)
    body, kind = upload_body(big)
    assert kind == GZIP and gzip.decompress(body) == big and len(body) < len(big)
    packed = gzip.compress(b"already packed")
    assert upload_body(packed) == (packed, GZIP)
