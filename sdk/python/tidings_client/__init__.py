"""Tidings Python client SDK (sdk/python/README.md)."""

from tidings_client.client import (
    CONNECTION_LOST,
    Ack,
    Client,
    Message,
    ReadMark,
    ReadMembers,
    Receipt,
    TidingsClientError,
)

__all__ = [
    "CONNECTION_LOST",
    "Ack",
    "Client",
    "Message",
    "ReadMark",
    "ReadMembers",
    "Receipt",
    "TidingsClientError",
]
