"""The client's own log, kept for the operator: the last lines of its log records in memory,
uploaded when the server asks (docs/PROTOCOL.md, upload_log_request)."""

from __future__ import annotations

import gzip
import logging
from collections import deque

# What a client keeps by default: about 100 KB of typical lines.
DEFAULT_LINES = 1000
# Larger logs go up gzipped (a log shrinks about tenfold); smaller ones as text, readable as
# they are when downloaded.
GZIP_OVER_BYTES = 64 * 1024
TEXT = "text/plain; charset=utf-8"
GZIP = "application/gzip"
_GZIP_MAGIC = b"\x1f\x8b"

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class DeviceLog(logging.Handler):
    """A logging handler that keeps the last `lines` records, formatted. Each Client has one
    (`client.device_log`) for its own records; add it to an app's loggers too, and their records
    are uploaded with the client's."""

    def __init__(self, lines: int = DEFAULT_LINES) -> None:
        if lines < 1:
            raise ValueError("lines must be at least 1")
        super().__init__()
        self._lines: deque[str] = deque(maxlen=lines)
        self.setFormatter(logging.Formatter(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - logging.Handler's contract: never raise from emit
            self.handleError(record)

    def text(self) -> str:
        """The kept lines, oldest first, one a line."""
        return "".join(line + "\n" for line in list(self._lines))


def own_logger(name: str, handler: DeviceLog) -> logging.Logger:
    """A logger outside the logging tree that writes only to `handler`, at INFO whatever the
    app's logging configuration: the client keeps its log even when the app shows none of it."""
    logger = logging.Logger(name, logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False
    return logger


def upload_body(log: bytes | str) -> tuple[bytes, str]:
    """The bytes to upload and their content type: gzip data as it is, a log over
    GZIP_OVER_BYTES gzipped, a smaller one as UTF-8 text."""
    data = log.encode() if isinstance(log, str) else log
    if data.startswith(_GZIP_MAGIC):
        return data, GZIP
    if len(data) > GZIP_OVER_BYTES:
        return gzip.compress(data), GZIP
    return data, TEXT
