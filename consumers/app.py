"""Process wiring shared by both consumers: settings → pool, producer, run loop.

Nothing happens at import time; `main` builds everything, `run` can also be driven by
tests with their own settings and stop event. PostgreSQL or Kafka unreachable at start →
wait and retry; SIGTERM/SIGINT → stop polling, finish the records in flight, commit, exit.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from common import process
from common.db import create_pool
from common.inbox import Checked, Decoded, PendingInbox, SeenInBatch
from common.kafka import make_consumer
from common.producer import Producer
from common.retry import until_up
from common.runloop import KeyedRunLoop, RunLoopConfig, decoding
from consumers.delivery import DeadLetters, Handler, policy_from
from consumers.outbound import Outbound, make_client
from consumers.settings import ConsumerSettings

HandlerFactory = Callable[
    [ConsumerSettings, asyncpg.Pool, Outbound, PendingInbox, Checked], Handler
]

log = logging.getLogger(__name__)


def build_loop(
    settings: ConsumerSettings,
    consumer_name: str,
    group: str,
    handle: Handler,
    letters: DeadLetters,
    pending: PendingInbox,
    checked: Checked,
) -> KeyedRunLoop:
    """Retry then dead-letter; at most CONSUMER_MAX_BUFFERED_PER_PARTITION records in flight.

    `consumer_name` is also the inbox consumer: both handlers return at once on a message
    they have seen, so a fetched batch's seen records are skipped with one query; the others
    of such a batch are decoded there once and marked in `checked`. The inbox rows a handler
    leaves in `pending` are written before every offset commit. A fetch gathers what arrives
    within `consumer_fetch_max_wait_ms` (consumers/settings.py)."""
    limit = settings.consumer_max_buffered_per_partition
    policy = policy_from(settings)
    config = RunLoopConfig(consumer_name, limit, policy=policy, by_key=False)
    decoded = Decoded()
    fetch = {
        "fetch_max_wait_ms": settings.consumer_fetch_max_wait_ms,
        "fetch_min_bytes": settings.consumer_fetch_min_bytes,
    }
    return KeyedRunLoop(
        lambda: make_consumer(settings, group, max_poll_records=limit, **fetch),
        [settings.consumer_events_topic],
        decoding(handle, decoded),
        config,
        give_up=letters.write,
        already_done=SeenInBatch(pending.pool, consumer_name, decoded=decoded, checked=checked),
        before_commit=pending.flush,
    )


async def run(
    settings: ConsumerSettings,
    consumer_name: str,
    default_group: str,
    factory: HandlerFactory,
    stop: asyncio.Event,
) -> None:
    pool = await until_up("PostgreSQL", lambda: create_pool(settings), stop)
    if pool is None:
        return
    producer = Producer(settings)
    group = settings.consumer_group_id or default_group
    try:
        services = {settings.auth_url: "auth", settings.notify_url: "notify"}
        async with make_client(settings.consumer_http_timeout_seconds, services) as client:
            letters = DeadLetters(consumer_name, pool, producer, settings.consumer_dlq_topic)
            pending, checked = PendingInbox(pool, consumer_name), Checked()
            handle = factory(settings, pool, client, pending, checked)
            log.info("%s consuming %s", consumer_name, settings.consumer_events_topic)
            loop = build_loop(settings, consumer_name, group, handle, letters, pending, checked)
            await loop.run(stop)
    finally:
        await _quietly(producer.close())
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


def main(consumer_name: str, default_group: str, factory: HandlerFactory) -> None:
    async def run_consumer(settings: ConsumerSettings, stop: asyncio.Event) -> None:
        await run(settings, consumer_name, default_group, factory, stop)

    process.main(consumer_name, ConsumerSettings(), run_consumer)
