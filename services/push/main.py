"""push: offline push jobs from im.push, through the vendor adapters."""

from __future__ import annotations

import asyncio

from services.common.config import Settings
from services.common.grpc_util import GrpcServer
from services.common.runtime import run_service


async def main(settings: Settings, stop: asyncio.Event) -> None:
    server = GrpcServer(settings.bind_host, settings.grpc_port)
    await server.start()
    await stop.wait()
    await server.stop()


if __name__ == "__main__":
    run_service("push", main)
