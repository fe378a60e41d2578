"""How `common.batching.Batcher` lets work fly and queue (no I/O: a batcher whose writes
wait for the test; the transactions and statements are in tests/integration/processors/
test_group_committer.py and tests/integration/gateway/test_gateway_accept_batches.py)."""

import asyncio
from collections.abc import Hashable

from common.batching import Batcher, Job


class Held(Batcher[str, str]):
    """Every write waits until the test lets it go; records what was written how."""

    def __init__(self, writers: int) -> None:
        super().__init__(max_batch=64, writers=writers)
        self.go = asyncio.Event()
        self.written: list[list[str]] = []

    async def _together(self, batch: list[Job[str]]) -> list[str]:
        await self.go.wait()
        self.written.append([job.item for job in batch])
        return [f"{job.item}!" for job in batch]

    async def _alone(self, item: str) -> str:
        await self.go.wait()
        self.written.append([item])
        return f"{item}!"

    async def _first(self, job: Job[str]) -> list[str]:
        return [await self._alone(job.item)]


def start(batcher: Held, key: Hashable, item: str) -> "asyncio.Task[str]":
    return asyncio.ensure_future(batcher.run(key, item))


async def test_up_to_writers_run_at_once_and_the_rest_go_together_next() -> None:
    batcher = Held(writers=2)
    first, second = start(batcher, "a", "a1"), start(batcher, "b", "b1")
    await asyncio.sleep(0)
    assert batcher._queue == []  # both in flight, each by its own caller
    queued = [start(batcher, k, f"{k}1") for k in ("d", "c")]
    await asyncio.sleep(0)
    assert [job.item for job in batcher._queue] == ["d1", "c1"]
    batcher.go.set()
    assert await asyncio.gather(first, second, *queued) == ["a1!", "b1!", "d1!", "c1!"]
    assert batcher.written[2:] == [["c1", "d1"]]  # one batch, in key order
    assert batcher.sizes[2] == 1


async def test_a_key_in_flight_is_not_written_again_until_it_is_done() -> None:
    batcher = Held(writers=2)
    lone = start(batcher, "a", "a1")
    await asyncio.sleep(0)
    again = start(batcher, "a", "a2")  # a writer is free, but its key is being written
    await asyncio.sleep(0)
    assert [job.item for job in batcher._queue] == ["a2"]
    batcher.go.set()
    assert await asyncio.gather(lone, again) == ["a1!", "a2!"]
    assert batcher.written == [["a1"], ["a2"]]
