"""The parent's side of the load generator: N worker processes, one pipe each."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from tests.bench.loadgen import worker

CLOSE_GRACE_S = 3.0


class WorkerError(RuntimeError):
    pass


class Pool:
    def __init__(self, procs: int) -> None:
        self.procs = procs
        self._conns: list[Connection] = []
        self._processes: list[BaseProcess] = []

    def start(self) -> None:
        # spawn, not fork: the parent runs an event loop and holds the stack's pipes.
        ctx = multiprocessing.get_context("spawn")
        for i in range(self.procs):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=worker.main, args=(child, i), name=f"loadgen-{i}", daemon=True)
            p.start()
            child.close()
            self._conns.append(parent)
            self._processes.append(p)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p.pid is not None]

    async def call(self, i: int, cmd: object, timeout: float | None = None) -> Any:
        conn = self._conns[i]
        conn.send(cmd)
        result = await asyncio.wait_for(asyncio.to_thread(conn.recv), timeout)
        if isinstance(result, worker.Failed):
            raise WorkerError(result.where)
        return result

    async def call_each(self, cmds: Sequence[object]) -> list[Any]:
        """cmds[i] to worker i, all at once."""
        return list(await asyncio.gather(*(self.call(i, c) for i, c in enumerate(cmds))))

    async def call_all(self, cmd: object) -> list[Any]:
        return await self.call_each([cmd] * self.procs)

    def stop(self) -> None:
        """Close each worker's clients; a worker still busy with a command (after Ctrl-C, say)
        does not read its pipe, so after a short grace it is terminated: it holds nothing that
        outlives it (its sockets close with it)."""
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(worker.Close())
        deadline = time.monotonic() + CLOSE_GRACE_S
        for conn in self._conns:
            with contextlib.suppress(OSError, EOFError):
                if conn.poll(max(0.0, deadline - time.monotonic())):
                    conn.recv()
        for p in self._processes:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(2)
            if p.is_alive():
                p.kill()
                p.join()
        self._conns.clear()
        self._processes.clear()

    async def __aenter__(self) -> Pool:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)
