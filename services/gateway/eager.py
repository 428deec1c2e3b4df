"""Run a coroutine now, in the caller, and let it go on in a task only if it has to wait.

Most of a client's frames need nothing that waits: a ping, a send whose checks are answered
from memory, a frame refused by its parser. A task for each would cost a task and a trip
through the event loop per frame. `Eager.run` runs the coroutine up to its first real wait (a
future not done yet); if it finishes before that, it cost no scheduling at all. Python 3.12's
eager tasks do this; this is for 3.11, and works the same way: the first steps run *as* a
task, so that code which needs the current task (`asyncio.timeout`, redis-py's timeouts) sees
the task that will finish the coroutine, in that task's context.

The task is made before it is needed: a parked "runner" task, waiting for work. The eager step
runs as the runner (asyncio's _enter_task/_leave_task, as 3.12 does for an eager task, in the
runner's context). A coroutine that finishes leaves the runner parked for the next one; one that
waits is handed to the runner, which finishes it, and a new runner is made for the next.
"""

from __future__ import annotations

import asyncio
import contextvars
from asyncio.tasks import _enter_task, _leave_task
from collections.abc import Coroutine, Generator
from typing import Any


class Suspended:
    """A coroutine stopped at its first wait, to be awaited from there on (by its runner):
    the future it waits on goes to the task as if the coroutine had yielded it there."""

    __slots__ = ("_coro", "_throw", "_waiting")

    def __init__(self, coro: Coroutine[Any, Any, None], waiting: Any) -> None:
        self._coro = coro
        self._waiting = waiting
        self._throw: BaseException | None = None

    def throw_first(self, exc: BaseException) -> None:
        """Resume the coroutine with `exc` (the runner was cancelled before it took over)."""
        self._throw = exc

    def __await__(self) -> Generator[Any, Any, None]:
        coro, value = self._coro, self._waiting
        self._waiting = None
        if self._throw is not None:
            exc, self._throw = self._throw, None
            try:
                value = coro.throw(exc)
            except StopIteration:
                return
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - thrown in by the task: passed on
                try:
                    value = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    value = coro.send(sent)
                except StopIteration:
                    return


class Eager:
    def __init__(self) -> None:
        self._runner: tuple[asyncio.Task[None], asyncio.Future[Suspended], contextvars.Context]
        self._runner = self._park()

    def _park(
        self,
    ) -> tuple[asyncio.Task[None], asyncio.Future[Suspended], contextvars.Context]:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Future[Suspended] = loop.create_future()
        context = contextvars.copy_context()
        task = loop.create_task(_runner(inbox), context=context)
        return task, inbox, context

    def run(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
        """Run `coro` until it finishes (None) or waits: then the task that finishes it.
        Exceptions it raises before waiting propagate."""
        loop = asyncio.get_running_loop()
        if asyncio.current_task(loop) is not None:
            # Called from a task (not from a transport's callback): no eager step in it.
            return loop.create_task(coro)
        task, inbox, context = self._runner
        _enter_task(loop, task)
        try:
            waiting = context.run(coro.send, None)
        except StopIteration:
            return None
        finally:
            _leave_task(loop, task)
        inbox.set_result(Suspended(coro, waiting))
        self._runner = self._park()
        return task

    def close(self) -> None:
        """Stop the parked runner (at shutdown)."""
        self._runner[0].cancel()


async def _runner(inbox: asyncio.Future[Suspended]) -> None:
    try:
        suspended = await inbox
    except asyncio.CancelledError as exc:
        # Cancelled as the coroutine it runs (its eager step entered a timeout that has
        # already expired) before it took the coroutine over: the coroutine gets the error.
        if not inbox.done() or inbox.cancelled():
            raise
        suspended = inbox.result()
        suspended.throw_first(exc)
    await suspended
