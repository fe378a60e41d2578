"""When the relay reads the outbox again: at once after a full batch or a NOTIFY, otherwise
only at its poll (it read the outbox twice per NOTIFY before: once more to find it empty)."""

import asyncio
import contextlib
from typing import Any

from processors.relay import Relay
from processors.settings import ProcessorSettings


class Outbox:
    """The relay's pool: queued rows served `limit` at a time; counts the reads."""

    def __init__(self, rows: int) -> None:
        self.queued = [
            {"id": i, "topic": "t", "key": "k", "payload": "{}"} for i in range(1, rows + 1)
        ]
        self.reads = 0

    async def fetch(
        self, _sql: str, limit: int, _topics: Any, *_marks: Any
    ) -> list[dict[str, Any]]:
        self.reads += 1
        await asyncio.sleep(0)  # a real read yields to the loop
        batch, self.queued = self.queued[:limit], self.queued[limit:]
        return batch

    async def execute(self, _sql: str, _ids: list[int]) -> None:
        return None


class Producer:
    def __init__(self, during_send: Any = None) -> None:
        self.sent = 0
        self._during_send = during_send

    async def send_all(self, messages: list[Any]) -> None:
        self.sent += len(messages)
        if self._during_send is not None:
            self._during_send()


async def run_steps(relay: Relay, seconds: float) -> None:
    stop = asyncio.Event()

    async def steps() -> None:
        while True:
            await relay._step(stop)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(steps(), seconds)


def relay(outbox: Outbox, producer: Producer, batch: int) -> Relay:
    settings = ProcessorSettings(relay_batch=batch, relay_poll_s=30.0)
    return Relay(settings, outbox, producer)  # type: ignore[arg-type]


async def test_a_short_batch_waits_for_the_next_notify_not_reads_again() -> None:
    outbox, producer = Outbox(rows=3), Producer()
    await run_steps(relay(outbox, producer, batch=10), 0.3)
    assert (producer.sent, outbox.reads) == (3, 1)


async def test_a_full_batch_reads_again_at_once() -> None:
    outbox, producer = Outbox(rows=5), Producer()
    await run_steps(relay(outbox, producer, batch=2), 0.3)
    assert (producer.sent, outbox.reads) == (5, 3)  # 2 + 2 + 1: the short one ends it


async def test_a_notify_while_publishing_reads_again_at_once() -> None:
    outbox = Outbox(rows=1)
    the_relay: Relay | None = None

    def notified_meanwhile() -> None:
        assert the_relay is not None
        the_relay._notified()
        outbox.queued.append({"id": 99, "topic": "t", "key": "k", "payload": "{}"})

    producer = Producer(during_send=notified_meanwhile)
    the_relay = relay(outbox, producer, batch=10)
    await run_steps(the_relay, 0.3)
    assert producer.sent >= 2 and outbox.reads >= 2
