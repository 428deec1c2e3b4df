"""Tidings Python client SDK."""

from tidings_client.client import Ack, Client, Message, TidingsClientError

__all__ = ["Ack", "Client", "Message", "TidingsClientError"]
