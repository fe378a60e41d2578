"""processors.gauges against the real Kafka and PostgreSQL: lag per group and partition, and
the database gauges (stuck rows, outbox backlog, dead letters), each counted by its rule."""

import uuid
from typing import TYPE_CHECKING, cast

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client.core import Metric

from processors.gauges import LagReader, database_families
from processors.settings import ProcessorSettings

if TYPE_CHECKING:
    from tests.integration.conftest import NewTopicFactory


def values(families: list[Metric]) -> dict[tuple[str, ...], float]:
    return {
        (s.name, *(f"{k}={v}" for k, v in sorted(s.labels.items()))): s.value
        for family in families
        for s in family.samples
    }


async def test_lag_is_counted_per_group_and_partition_from_the_committed_offset(
    kafka_bootstrap: str, new_topic: "NewTopicFactory"
) -> None:
    topic, group = await new_topic(partitions=2), f"test-gauges-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for partition, count in ((0, 5), (1, 2)):
            for _ in range(count):
                await producer.send_and_wait(topic, b"x", partition=partition)
    finally:
        await producer.stop()
    committer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await committer.start()
    try:
        committer.assign([TopicPartition(topic, 0)])
        await committer.commit({TopicPartition(topic, 0): 2})
    finally:
        await committer.stop()
    reader = LagReader(
        ProcessorSettings(
            kafka_bootstrap_servers=kafka_bootstrap, metrics_lag_groups=f"{group}={topic}"
        )
    )
    try:
        got = values(await reader.families())
    finally:
        await reader.close()
    labels = (f"group={group}", "partition={}", f"topic={topic}")
    lag = {
        p: got[("billing_consumer_lag", labels[0], labels[1].format(p), labels[2])] for p in (0, 1)
    }
    done = {
        p: got[("billing_consumer_committed_offset", labels[0], labels[1].format(p), labels[2])]
        for p in (0, 1)
    }
    assert lag == {0: 3, 1: 2}
    assert done == {0: 2, 1: 0}


STUCK_ACCEPTED = ("billing_stuck", "object=payment", "reason=accepted_past_redrive")
STUCK_PENDING = ("billing_stuck", "object=payment", "reason=pending_past_provider_expiry")


async def _payment(conn: asyncpg.Connection, status: str, age_s: float) -> None:
    await conn.execute(
        """INSERT INTO payments_history.payments (id, user_id, plan_id, amount, currency, status,
           idempotency_key, request_fingerprint, return_url, created_at, updated_at)
           VALUES ($1, $2, 'monthly', 499, 'RUB', $3, $4, 'fp', 'https://cinema.example/',
                   now() - make_interval(secs => $5), now() - make_interval(secs => $5))""",
        uuid.uuid4(),
        uuid.uuid4(),
        status,
        uuid.uuid4().hex,
        age_s,
    )


async def test_database_gauges_count_stuck_rows_by_their_rule_backlog_and_dead_letters(
    database_url: str,
) -> None:
    settings = ProcessorSettings(
        database_url=database_url,
        reconcile_after_seconds=30,
        provider_pending_expiry_s=3600,
        reconcile_backoff_cap_seconds=600,
        relay_topics="billing.events.v1",
    )
    consumer = f"test-gauges-{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(database_url)
    tx = conn.transaction()
    await tx.start()
    try:  # everything below is rolled back: the stack never sees these rows
        before = values(await database_families(conn, settings))  # type: ignore[arg-type]
        await _payment(conn, "accepted", 120)  # past the re-drive age: stuck
        await _payment(conn, "accepted", 5)  # just accepted: not stuck
        await _payment(conn, "pending", 4500)  # past the expiry and a re-check since: stuck
        await _payment(conn, "pending", 3900)  # expired, but its re-check may not be due yet
        await _payment(conn, "pending", 600)  # a user still on the payment page: not stuck
        for topic, age in (("billing.events.v1", 120), ("test.gauges", 3600)):
            await conn.execute(  # the second is another relay's topic: not this backlog
                """INSERT INTO payments_history.outbox (message_id, topic, key, type, payload,
                   created_at)
                   VALUES ($1, $2, 'k', 'Test', '{}', now() - make_interval(secs => $3))""",
                uuid.uuid4(),
                topic,
                age,
            )
        await conn.execute(
            """INSERT INTO payments_history.dead_letters (consumer, message_id, origin_topic,
               origin_partition, origin_offset, key, payload, error)
               VALUES ($1, NULL, 'test.gauges', 0, 0, NULL, 'x', 'test')""",
            consumer,
        )
        after = values(await database_families(conn, settings))  # type: ignore[arg-type]
    finally:
        await tx.rollback()
        await conn.close()
    assert after[STUCK_ACCEPTED] - before[STUCK_ACCEPTED] == 1
    assert after[STUCK_PENDING] - before[STUCK_PENDING] == 1
    for status in ("accepted", "pending"):
        key = ("billing_payments", f"status={status}")
        assert after[key] - before.get(key, 0) == {"accepted": 2, "pending": 3}[status]
    assert after[("billing_outbox_backlog",)] - before[("billing_outbox_backlog",)] == 1
    assert 120 <= after[("billing_outbox_oldest_age_seconds",)] < 3600
    assert after[("billing_dead_letters_pending", f"consumer={consumer}")] == 1


async def test_subscription_gauges_count_every_status_and_the_renewals_due_within_a_day(
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:  # one snapshot for the gauges and the check, whatever the live scheduler does
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            settings = ProcessorSettings(database_url=database_url)
            got = values(await database_families(cast(asyncpg.Pool, conn), settings))
            by_status = dict(
                await conn.fetch(
                    "SELECT status, count(*) FROM payments_history.subscriptions GROUP BY status"
                )
            )
            due = await conn.fetchval(
                "SELECT count(*) FROM payments_history.subscription_due WHERE kind = 'renew'"
                " AND done_at IS NULL AND due_at < now() + interval '24 hours'"
            )
    finally:
        await conn.close()
    for status in ("active", "past_due", "canceled", "expired"):
        assert got[("billing_subscriptions", f"status={status}")] == by_status.get(status, 0)
    assert got[("billing_renewals_due_24h",)] == due
