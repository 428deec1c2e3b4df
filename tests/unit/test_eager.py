"""services/gateway/eager.py: a coroutine that does not wait costs no task run; one that waits
goes on in a task, as that task from its first step (asyncio.timeout works in it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from services.gateway.eager import Eager


def from_a_callback(fn: Callable[[], Any]) -> asyncio.Future[Any]:
    """Run `fn` as a transport's callback would: outside any task."""
    loop = asyncio.get_running_loop()
    out: asyncio.Future[Any] = loop.create_future()

    def call() -> None:
        try:
            out.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out.set_exception(exc)

    loop.call_soon(call)
    return out


async def test_a_coroutine_that_does_not_wait_runs_at_once_without_a_task() -> None:
    eager = Eager()
    done: list[str] = []

    async def quick() -> None:
        done.append("ran")

    async def nested() -> None:
        await quick()  # a coroutine that does not wait does not make its caller wait

    def both() -> tuple[Any, Any, list[str]]:
        return eager.run(quick()), eager.run(nested()), list(done)

    first, second, seen = await from_a_callback(both)
    assert first is None and second is None
    assert seen == ["ran", "ran"]  # done before the callback returned
    eager.close()


async def test_a_coroutine_that_waits_goes_on_in_its_own_task() -> None:
    eager = Eager()
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    steps: list[Any] = []

    async def slow() -> None:
        steps.append(asyncio.current_task())
        steps.append(await gate)
        steps.append(asyncio.current_task())

    task = await from_a_callback(lambda: eager.run(slow()))
    assert isinstance(task, asyncio.Task) and not task.done()
    # Its first step already ran, as the task that finishes it.
    assert steps == [task]
    gate.set_result("opened")
    await task
    assert steps == [task, "opened", task]
    # The next coroutine that waits gets a runner of its own.
    gate = asyncio.get_running_loop().create_future()
    other = await from_a_callback(lambda: eager.run(slow()))
    assert other is not None and other is not task
    gate.set_result("again")
    await other
    assert steps[-2:] == ["again", other]
    eager.close()


async def test_a_timeout_entered_in_the_first_step_times_out_the_task() -> None:
    eager = Eager()
    outcome: list[str] = []

    async def bounded() -> None:
        try:
            async with asyncio.timeout(0.05):
                await asyncio.sleep(10)
        except TimeoutError:
            outcome.append("timed out")

    task = await from_a_callback(lambda: eager.run(bounded()))
    await asyncio.wait_for(task, 5)
    assert outcome == ["timed out"]
    eager.close()


async def test_errors_before_the_first_wait_reach_the_caller() -> None:
    eager = Eager()

    async def broken() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        await from_a_callback(lambda: eager.run(broken()))
    # The runner is still parked, and serves the next one.
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def waits() -> None:
        await gate

    task = await from_a_callback(lambda: eager.run(waits()))
    gate.set_result(None)
    await task
    eager.close()


async def test_from_a_task_it_is_a_plain_task() -> None:
    eager = Eager()
    ran: list[bool] = []

    async def quick() -> None:
        ran.append(True)

    task = eager.run(quick())
    assert task is not None and not ran
    await task
    assert ran == [True]
    eager.close()
