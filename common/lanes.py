"""The bookkeeping under the run loop, free of Kafka: per-key lanes and per-partition watermarks."""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


class Watermark:
    """Offsets of one partition in fetch order; what is safe to commit is contiguous-done."""

    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._done: set[int] = set()
        self._next: int | None = None
        self.committed: int | None = None

    def add(self, offset: int) -> None:
        if self._next is not None and offset < self._next:
            raise ValueError(f"offset {offset} fetched after {self._next - 1}")
        self._pending.append(offset)
        self._next = offset + 1

    def finish(self, offset: int) -> None:
        self._done.add(offset)
        while self._pending and self._pending[0] in self._done:
            self._done.discard(self._pending.popleft())

    def committable(self) -> int | None:
        """The offset to commit (the next one to read), or None when nothing changed."""
        position = self._pending[0] if self._pending else self._next
        if position is None or position == self.committed:
            return None
        return position

    @property
    def unfinished(self) -> int:
        return len(self._pending)


@dataclass
class Lanes(Generic[T]):
    """Sequential lanes keyed by any hashable; lanes run concurrently."""

    run_one: Callable[[T], Awaitable[None]]
    on_finished: Callable[[T], None]
    _queues: dict[Hashable, deque[T]] = field(default_factory=dict)
    _tasks: dict[Hashable, asyncio.Task[None]] = field(default_factory=dict)

    @property
    def in_flight(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def submit(self, lane: Hashable, item: T) -> None:
        self._queues.setdefault(lane, deque()).append(item)
        if lane not in self._tasks:
            self._tasks[lane] = asyncio.create_task(self._drain(lane))

    async def _drain(self, lane: Hashable) -> None:
        queue = self._queues[lane]
        try:
            while queue:
                item = queue[0]
                await self.run_one(item)
                if queue and queue[0] is item:
                    queue.popleft()
                    self.on_finished(item)
        finally:
            self._tasks.pop(lane, None)
            if not queue:
                self._queues.pop(lane, None)

    async def close(self, lanes: Callable[[Hashable], bool], grace_s: float) -> None:
        """Drop queued items of the chosen lanes, wait for running ones, cancel the stragglers."""
        chosen = [lane for lane in list(self._queues) if lanes(lane)]
        for lane in chosen:
            queue = self._queues[lane]
            while len(queue) > 1:
                queue.pop()
        tasks = [self._tasks[lane] for lane in chosen if lane in self._tasks]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for lane in chosen:
            self._queues.pop(lane, None)
