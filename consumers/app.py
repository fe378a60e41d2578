"""Process wiring shared by both consumers: settings → pool, producer, consumer → run loop.

Nothing happens at import time; `main` builds everything, `run` can also be driven by
tests with their own settings and stop event. PostgreSQL or Kafka unreachable at start →
wait and retry; SIGTERM/SIGINT → stop polling, finish the record in flight, commit, exit.
"""

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

import asyncpg
import httpx

from common import logs
from common.db import create_pool
from common.kafka import make_consumer, make_producer
from consumers.delivery import Delivery, Handler, RetryPolicy
from consumers.outbound import make_client
from consumers.runner import consume, until_up
from consumers.settings import ConsumerSettings

HandlerFactory = Callable[[ConsumerSettings, asyncpg.Pool, httpx.AsyncClient], Handler]

log = logging.getLogger(__name__)


def policy_from(settings: ConsumerSettings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.consumer_retry_attempts,
        base_seconds=settings.consumer_retry_base_seconds,
        max_seconds=settings.consumer_retry_max_seconds,
        outage_max_seconds=settings.consumer_outage_max_seconds,
    )


async def run(
    settings: ConsumerSettings,
    consumer_name: str,
    default_group: str,
    factory: HandlerFactory,
    stop: asyncio.Event,
) -> None:
    pools: list[asyncpg.Pool] = []

    async def connect_pool() -> None:
        pools.append(await create_pool(settings))

    if not await until_up("PostgreSQL", connect_pool, stop):
        return
    pool = pools[0]
    producer = make_producer(settings)
    consumer = make_consumer(
        settings,
        settings.consumer_group_id or default_group,
        max_poll_records=settings.consumer_max_buffered_per_partition,
    )
    try:
        if not (
            await until_up("Kafka producer", producer.start, stop)
            and await until_up("Kafka consumer", consumer.start, stop)
        ):
            return
        async with make_client(settings.consumer_http_timeout_seconds) as client:
            delivery = Delivery(
                consumer_name, pool, producer, settings.consumer_dlq_topic, policy_from(settings)
            )
            log.info("%s consuming %s", consumer_name, settings.consumer_events_topic)
            await consume(
                consumer,
                settings.consumer_events_topic,
                delivery,
                factory(settings, pool, client),
                stop,
                settings.consumer_max_buffered_per_partition,
            )
    finally:
        await _quietly(consumer.stop())
        await _quietly(producer.stop())
        if not await _quietly(pool.close()):
            pool.terminate()  # a connection left broken by an outage must not hang the exit


async def _quietly(closing: Awaitable[object], within: float = 10.0) -> bool:
    """Await a shutdown step, bounded; False if it failed or took too long."""
    try:
        await asyncio.wait_for(closing, within)
        return True
    except Exception:
        log.warning("shutdown step did not finish cleanly", exc_info=True)
        return False


async def serve(consumer_name: str, default_group: str, factory: HandlerFactory) -> None:
    settings = ConsumerSettings()
    logs.configure(settings.log_level, consumer_name, settings.log_format)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, consumer_name, default_group, factory, stop)
    log.info("%s stopped", consumer_name)


def main(consumer_name: str, default_group: str, factory: HandlerFactory) -> None:
    asyncio.run(serve(consumer_name, default_group, factory))
