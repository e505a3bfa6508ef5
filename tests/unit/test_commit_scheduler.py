"""The rule path's offset commits (agents/membership.py `CommitScheduler`): beside the batch
loop, one at a time, coalesced, never backwards, all of them before a revocation or stop.
The commit is a stand-in whose answer the test releases, so every interleaving is exact."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition

from agents.membership import CommitScheduler

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


class Broker:
    """Records each commit and answers it when the test says so."""

    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.answer = asyncio.Event()
        self.fail: Exception | None = None

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.answer.wait()
            if self.fail is not None:
                raise self.fail
        finally:
            self.in_flight -= 1


def test_batches_never_wait_and_their_offsets_coalesce_into_the_next_commit() -> None:
    async def scenario() -> Broker:
        broker = Broker()
        commits = CommitScheduler(broker.commit)
        commits.add({A: 10})  # batch 1: a commit starts at once
        await asyncio.sleep(0)
        for offset in (20, 30, 40):  # batches 2-4 while it is in flight: nothing waits
            commits.add({A: offset, B: offset // 10})
        await asyncio.sleep(0)
        assert broker.commits == [{A: 10}] and broker.in_flight == 1
        broker.answer.set()  # the broker answers: the pending offsets go in one commit
        await commits.drain()
        return broker

    broker = asyncio.run(scenario())
    assert broker.commits == [{A: 10}, {A: 40, B: 4}]
    assert broker.most_in_flight == 1


def test_drain_commits_what_is_pending_and_waits_for_it() -> None:
    async def scenario() -> tuple[Broker, CommitScheduler]:
        broker = Broker()
        commits = CommitScheduler(broker.commit)
        commits.add({A: 5})
        await asyncio.sleep(0)
        commits.add({B: 7})  # pending behind the commit in flight
        drained = asyncio.ensure_future(commits.drain())
        await asyncio.sleep(0.01)
        assert not drained.done()  # a revocation waits for every offset to be committed
        broker.answer.set()
        await drained
        return broker, commits

    broker, commits = asyncio.run(scenario())
    assert broker.commits == [{A: 5}, {B: 7}]
    assert commits.pending == {}


def test_offsets_only_move_forward_commit_after_commit() -> None:
    async def scenario() -> Broker:
        broker = Broker()
        broker.answer.set()
        commits = CommitScheduler(broker.commit)
        for offset in range(1, 200):
            commits.add({A: offset})
            if offset % 7 == 0:
                await asyncio.sleep(0)
        await commits.drain()
        return broker

    broker = asyncio.run(scenario())
    offsets = [c[A] for c in broker.commits]
    assert offsets == sorted(offsets) and offsets[-1] == 199
    assert broker.most_in_flight == 1


def test_an_unexpected_commit_failure_surfaces_in_the_loop() -> None:
    async def scenario() -> None:
        broker = Broker()
        broker.fail = RuntimeError("boom")
        commits = CommitScheduler(broker.commit)
        commits.add({A: 1})
        broker.answer.set()
        await asyncio.sleep(0.01)
        commits.add({A: 2})  # the next batch learns of it, as the awaited commit did before

    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(scenario())
