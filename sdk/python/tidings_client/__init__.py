"""Tidings Python client SDK."""

from tidings_client.client import (
    Ack,
    Client,
    Message,
    ReadMark,
    ReadMembers,
    Receipt,
    TidingsClientError,
)

__all__ = [
    "Ack",
    "Client",
    "Message",
    "ReadMark",
    "ReadMembers",
    "Receipt",
    "TidingsClientError",
]
