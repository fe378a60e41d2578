"""What every processor process shares: `bootstrap()` builds the pool and the provider client,
`keyed_loop()` the common run loop of a topic, `main()` the process (common/process.py)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg

from common import process, retry
from common.db import create_pool
from common.dead_letters import DeadLetters
from common.inbox import Decoded, SeenInBatch
from common.kafka import make_consumer
from common.producer import Producer
from common.runloop import KeyedRunLoop, MessageHandler, RunLoopConfig, decoding
from processors.errors import LedgerAnomaly, ProviderAnswerInvalid, ProviderRejected
from processors.group_commit import GroupCommitter
from processors.provider.yookassa import RetryPolicy, YooKassaClient, make_client
from processors.settings import ProcessorSettings
from processors.uow import PgUnitOfWork
from schemas.codec import UndecodableMessage

log = logging.getLogger(__name__)


@dataclass
class Context:
    """`ports.Deps` in production: the settings, the YooKassa client, PostgreSQL, and the
    producer of dead letters (started on the first one)."""

    settings: ProcessorSettings
    pool: asyncpg.Pool
    provider: YooKassaClient
    uow: PgUnitOfWork = field(init=False)
    producer: Producer = field(init=False)

    def __post_init__(self) -> None:
        group = self.settings.processor_group_max
        self.uow = PgUnitOfWork(self.pool, GroupCommitter(self.pool, group, enabled=group > 1))
        self.producer = Producer(self.settings)

    async def aclose(self) -> None:
        await self.uow.committer.aclose()  # before the pool: its retries hold connections
        await self.producer.close()
        await self.provider.aclose()
        await self.pool.close()


def provider_client(settings: ProcessorSettings) -> YooKassaClient:
    policy = RetryPolicy(
        attempts=settings.provider_attempts,
        timeout_s=settings.provider_timeout_s,
        backoff_s=settings.provider_backoff_s,
    )
    return make_client(
        settings.provider_url,
        settings.provider_shop_id,
        settings.provider_secret_key.get_secret_value(),
        policy,
        settings.provider_max_connections,
    )


async def connect_pool(
    settings: ProcessorSettings, stop: asyncio.Event | None = None
) -> asyncpg.Pool:
    """PostgreSQL down at start-up is waited for, not fatal."""
    pool = await retry.until_up(
        "PostgreSQL",
        lambda: create_pool(settings, max_size=settings.db_pool_size),
        stop,
    )
    if pool is None:
        raise ConnectionError("stopped before PostgreSQL was reachable")
    return pool


async def bootstrap(settings: ProcessorSettings) -> Context:
    return Context(settings, await connect_pool(settings), provider_client(settings))


# Every failure is retried in its lane until it works (the provider, PostgreSQL or Kafka
# down, a row not there yet), except what can never succeed: a record that is not a message
# we know (malformed JSON, a missing or mistyped field, an unknown type; an unknown *field*
# is ignored, so a rolling deploy that adds one is handled) and a provider answer we cannot
# read (an unknown status), a request the provider refused for good (`ProviderRejected`: a
# 4xx other than 401/429, e.g. a webhook's re-read refused; a 404 there is ignored by the
# handler), or a provider object whose money contradicts our ledger (`LedgerAnomaly`: an
# operator must look, retrying changes nothing). Those are dead-lettered with the reason
# (billing.dlq.v1 + dead_letters + billing_dead_letters_total), never skipped silently, and
# the lane moves on; the row they were about stays for the reconciler, which re-reads it
# (reconciler.py).
PERMANENT: tuple[type[BaseException], ...] = (
    UndecodableMessage,
    ProviderAnswerInvalid,
    ProviderRejected,
    LedgerAnomaly,
)
POLICY = retry.RetryPolicy(attempts=None, base_seconds=0.2, max_seconds=30.0, permanent=PERMANENT)


def keyed_loop(
    ctx: Context, name: str, group: str, topic: str, handle: MessageHandler
) -> KeyedRunLoop:
    """The run loop of a processor that reads `topic` as consumer group `group`; `name` is
    also its inbox consumer: every handler returns at once on a message it has seen, so a
    fetched batch's seen records are skipped with one query (`SeenInBatch`), which hands
    the messages it decoded to their handlers (each record is decoded once)."""
    config = RunLoopConfig(name, ctx.settings.processor_max_in_flight, policy=POLICY)
    letters = DeadLetters(name, ctx.pool, ctx.producer, ctx.settings.dlq_topic)
    decoded = Decoded()
    return KeyedRunLoop(
        lambda: make_consumer(ctx.settings, group),
        [topic],
        decoding(handle, decoded),
        config,
        letters.write,
        already_done=SeenInBatch(ctx.pool, name, decoded=decoded),
    )


async def run_loop(
    settings: ProcessorSettings, stop: asyncio.Event, build: Callable[[Context], KeyedRunLoop]
) -> None:
    """Bootstrap, run the loop `build` makes until `stop`, then close what bootstrap opened."""
    ctx = await bootstrap(settings)
    try:
        await build(ctx).run(stop)
    finally:
        await ctx.aclose()


def main(name: str, run: Callable[[ProcessorSettings, asyncio.Event], Awaitable[None]]) -> None:
    process.main(name, ProcessorSettings(), run)
