"""The relay is woken by the outbox's NOTIFY, not by its poll, and reads the outbox once per
wake-up: a batch that was not full is not followed by a second, empty SELECT."""

import asyncio
import uuid
from typing import Any

import asyncpg

from common import outbox
from common.producer import Producer
from processors.relay import Relay
from processors.runtime import Context
from schemas import ids
from schemas.messages import PaymentPending
from tests.integration.conftest import NewTopicFactory


class CountingPool:
    """The pool, with every `fetch` (the relay's outbox read) counted."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.fetches = 0

    async def fetch(self, *args: Any) -> list[asyncpg.Record]:
        self.fetches += 1
        return await self._pool.fetch(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def _event() -> PaymentPending:
    payment = uuid.uuid4()
    return PaymentPending(
        message_id=ids.message_id("PaymentPending", payment),
        payment_id=payment,
        user_id=uuid.uuid4(),
        plan_id="monthly",
        amount="499.00",
        currency="RUB",
        external_id=uuid.uuid4(),
        confirmation_url="https://pay/x",
    )


async def _until(condition: Any, within: float) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling the relay's counters
            await asyncio.sleep(0.02)


async def test_each_notify_wakes_one_read_and_the_poll_is_not_needed(
    ctx: Context, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=1)
    settings = ctx.settings.model_copy(
        update={
            "relay_topics": topic,
            "relay_lock_key": uuid.uuid4().int % 2**62,
            "relay_poll_s": 60.0,  # a wake-up that waited for the poll would time out below
        }
    )
    pool, producer, stop = CountingPool(ctx.pool), Producer(settings), asyncio.Event()
    relay = Relay(settings, pool, producer)  # type: ignore[arg-type]
    task = asyncio.create_task(relay.run(stop))
    try:
        await _until(lambda: pool.fetches == 1, within=20)  # active: the first (empty) read
        await asyncio.sleep(0.3)  # listening
        for n in (1, 2):
            event = _event()
            async with ctx.pool.acquire() as conn:
                await outbox.append(conn, event, topic=topic, key=str(event.user_id))
            await _until(lambda n=n: relay.published == n, within=15)  # not the 60 s poll
        await asyncio.sleep(0.5)
        assert pool.fetches == 3  # the first read, then one per NOTIFY
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await producer.close()
