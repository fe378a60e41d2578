"""Which queued bodies the group committer takes as its next batch (no I/O: the batch is
taken before any connection is used; the transactions are in
tests/integration/processors/test_group_committer.py)."""

import asyncio
from typing import Any

import asyncpg

from common.batching import Job
from processors.group_commit import GroupCommitter
from processors.journal import Journal


async def nothing(conn: asyncpg.Connection, journal: Journal) -> None:
    return None


def job(key: str) -> Job[object]:
    return Job(key, nothing, asyncio.get_running_loop().create_future())


def committer(max_batch: int = 64) -> GroupCommitter:
    pool: Any = None  # `_take` never touches it
    return GroupCommitter(pool, max_batch)


async def test_one_body_per_key_in_key_order_the_rest_keep_their_place() -> None:
    c = committer()
    b1, a1, b2, c1, a2 = job("b"), job("a"), job("b"), job("c"), job("a")
    c._queue = [b1, a1, b2, c1, a2]
    assert c._take() == [a1, b1, c1]
    assert c._queue == [b2, a2]
    assert c._take() == [a2, b2]
    assert c._queue == []


async def test_at_most_max_batch_and_cancelled_bodies_dropped() -> None:
    c = committer(max_batch=2)
    gone, x, y, z = job("w"), job("x"), job("y"), job("z")
    gone.done.cancel()  # its handler was cancelled (a stop): nothing waits for it
    c._queue = [gone, x, y, z]
    assert c._take() == [x, y]
    assert c._queue == [z]
