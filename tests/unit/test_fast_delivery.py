"""The worker's Faust consumer delivers a message inline and, when the delivery blocks,
finishes it under Faust's own `wait_first` (agents.app._Continue)."""

from __future__ import annotations

import asyncio

import pytest

from agents.app import _Continue


async def _delivery(gate: asyncio.Event, log: list[str]) -> str:
    log.append("start")
    await gate.wait()
    log.append("after gate")
    await asyncio.sleep(0)
    return "delivered"


def test_a_blocked_delivery_is_finished_by_a_task() -> None:
    async def main() -> tuple[str, list[str]]:
        gate, log = asyncio.Event(), []
        coro = _delivery(gate, log)
        first = coro.send(None)  # runs inline until it blocks on the gate
        assert log == ["start"]
        task = asyncio.ensure_future(_Continue(coro, first))
        await asyncio.sleep(0)
        gate.set()
        return await task, log

    result, log = asyncio.run(main())
    assert result == "delivered"
    assert log == ["start", "after gate"]


def test_cancelling_the_rest_of_a_delivery_cancels_the_coroutine() -> None:
    async def main() -> list[str]:
        gate, log = asyncio.Event(), []
        coro = _delivery(gate, log)
        first = coro.send(None)
        task = asyncio.ensure_future(_Continue(coro, first))
        await asyncio.sleep(0)
        task.cancel()  # what wait_first does when the flow is suspended first
        with pytest.raises(asyncio.CancelledError):
            await task
        return log

    assert asyncio.run(main()) == ["start"]


def test_a_delivery_that_does_not_block_completes_inline() -> None:
    async def quick() -> int:
        return 7

    coro = quick()
    with pytest.raises(StopIteration) as stop:
        coro.send(None)
    assert stop.value.value == 7
