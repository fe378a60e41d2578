"""Producing from sync Django code: a short-lived idempotent producer (acks=all) per call.

Admin actions are rare, so a producer per action costs little and leaves no background
thread or event loop behind in the gunicorn worker. The coroutine runs on its own thread so
that a caller already inside an event loop (an async test, ASGI) is not disturbed.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings

from common.kafka import make_producer


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes


async def _send_all(records: list[Record]) -> None:
    producer = make_producer(settings.BILLING_SETTINGS)
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(record.topic, record.value, key=record.key)
    finally:
        await producer.stop()


def produce(records: list[Record], timeout: float = 30.0) -> None:
    """Send every record and return once the broker acked each one (raises otherwise)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, asyncio.wait_for(_send_all(records), timeout)).result()
