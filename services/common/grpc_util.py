"""gRPC helpers: a server with health and reflection, and a cache of client channels."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

_CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 20000),
    ("grpc.keepalive_timeout_ms", 5000),
    ("grpc.max_receive_message_length", 32 * 1024 * 1024),
    ("grpc.max_send_message_length", 32 * 1024 * 1024),
]


class GrpcServer:
    """A grpc.aio server that always serves grpc.health.v1 and reflection."""

    def __init__(self, host: str, port: int) -> None:
        self.server = grpc.aio.server(options=_CHANNEL_OPTIONS)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        self._service_names: list[str] = [health.SERVICE_NAME, reflection.SERVICE_NAME]

    def add(self, register: Callable[[grpc.aio.Server], None], full_names: Iterable[str]) -> None:
        register(self.server)
        self._service_names.extend(full_names)

    async def start(self) -> None:
        reflection.enable_server_reflection(self._service_names, self.server)
        await self.server.start()
        await self.set_serving(True)

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ["", *self._service_names]:
            await self.health.set(name, status)

    async def stop(self, grace: float = 5.0) -> None:
        await self.set_serving(False)
        await self.server.stop(grace)


class Channels:
    """One channel per peer address, reused for every call."""

    def __init__(self) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}

    def get(self, addr: str) -> grpc.aio.Channel:
        channel = self._channels.get(addr)
        if channel is None:
            channel = grpc.aio.insecure_channel(addr, options=_CHANNEL_OPTIONS)
            self._channels[addr] = channel
        return channel

    def drop(self, addr: str) -> None:
        self._channels.pop(addr, None)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()


def check_health(addr: str, timeout: float = 1.0) -> bool:
    """Blocking health probe, for launchers and tests."""
    try:
        with grpc.insecure_channel(addr) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False
