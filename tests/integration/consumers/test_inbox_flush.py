"""The effect-free inbox rows written in bulk before the offset commit (`PendingInbox`).

A consumer that sent a notification but could not write its inbox row (it died, or
PostgreSQL refused the flush) must not have committed the record's offset: the record comes
again, is sent again with the same dedup_key, and Notify drops the second one.
"""

import uuid
from collections.abc import Callable

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from consumer_world import (
    OutsideWorld,
    Topics,
    add_payment,
    committed,
    eventually,
    pending,
    publish,
    running,
    settle,
    succeeded,
)

from common.inbox import PendingInbox
from consumers.notifications.handler import CONSUMER
from consumers.settings import ConsumerSettings

PARTITION = 1


class FlushRefused(Exception):
    """The crash between the send and the inbox row, made deterministic."""


async def test_a_send_whose_row_never_flushed_is_not_committed_and_comes_again(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = uuid.uuid4()
    paid = succeeded(user, await add_payment(pool, user))
    await publish(producer, topics.events, paid, partition=PARTITION)
    settings = settings_for()

    async def refuse(self: PendingInbox) -> None:
        raise FlushRefused("the process died before its inbox rows were written")

    with monkeypatch.context() as patched:
        patched.setattr(PendingInbox, "flush", refuse)
        async with running("notifications", settings):
            await eventually(lambda: _sent(world, user, 1))
            await settle()
    group = settings.consumer_group_id or ""
    assert await committed(kafka_bootstrap, group, topics.events, PARTITION) is None
    assert not await _in_inbox(pool, paid.message_id)

    async with running("notifications", settings):  # the next life of the same group
        await eventually(lambda: _in_inbox(pool, paid.message_id))
        await eventually(lambda: _committed_past(kafka_bootstrap, group, topics.events, 1))

    notes = world.notes(user)
    assert [n["dedup_key"] for n in notes] == [str(paid.message_id)] * 2  # sent again...
    assert [n["duplicate"] for n in notes] == [False, True]  # ...and dropped by Notify


async def test_offsets_never_pass_a_record_whose_row_is_not_written(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At every offset commit (every other flush refused), each record below the committed
    offset already has its inbox row."""
    user = uuid.uuid4()
    payment = await add_payment(pool, user)
    events = [pending(user, payment) for _ in range(40)]
    flush, commit = PendingInbox.flush, AIOKafkaConsumer.commit
    flushes: list[int] = []
    violations: list[tuple[int, int]] = []
    commits: list[int] = []

    async def sometimes_refused(self: PendingInbox) -> None:
        flushes.append(len(self))
        if len(flushes) % 2 == 0 and len(self):
            raise FlushRefused("PostgreSQL refused this flush")
        await flush(self)

    async def checked_commit(self: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        position = offsets.get(TopicPartition(topics.events, PARTITION))
        if position is not None:
            commits.append(position)
            if (rows := await _rows_below(pool, topics.events, position)) != position:
                violations.append((position, rows))
        await commit(self, offsets)

    settings = settings_for()
    group = settings.consumer_group_id or ""
    with monkeypatch.context() as patched:
        patched.setattr(PendingInbox, "flush", sometimes_refused)
        patched.setattr(AIOKafkaConsumer, "commit", checked_commit)
        async with running("notifications", settings):
            for event in events:  # a few at a time: many fetches, many commits
                await publish(producer, topics.events, event, partition=PARTITION)
            await eventually(lambda: _committed_past(kafka_bootstrap, group, topics.events, 40))

    assert violations == []
    assert commits and commits[-1] == 40
    assert await _rows_below(pool, topics.events, 40) == 40


async def _sent(world: OutsideWorld, user: uuid.UUID, n: int) -> bool:
    return len(world.notes(user)) >= n


async def _in_inbox(pool: asyncpg.Pool, message_id: uuid.UUID) -> bool:
    return await _rows(pool, [message_id]) == 1


async def _rows(pool: asyncpg.Pool, ids: list[uuid.UUID]) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM payments_history.inbox WHERE consumer = $1"
        " AND message_id = ANY($2::uuid[])",
        CONSUMER,
        ids,
    )


async def _rows_below(pool: asyncpg.Pool, topic: str, position: int) -> int:
    """Inbox rows of the consumer for records of the partition below `position`."""
    return await pool.fetchval(
        "SELECT count(*) FROM payments_history.inbox WHERE consumer = $1 AND topic = $2"
        ' AND partition = $3 AND "offset" < $4',
        CONSUMER,
        topic,
        PARTITION,
        position,
    )


async def _committed_past(bootstrap: str, group: str, topic: str, offset: int) -> bool:
    position = await committed(bootstrap, group, topic, PARTITION)
    return position is not None and position >= offset
