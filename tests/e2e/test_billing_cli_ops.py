"""`billing lag`, `billing dlq show|list --json` and `billing keys expire` against the real
Kafka and PostgreSQL (private topics, groups and rows: the live pipeline is left alone)."""

import asyncio
import json
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from typer.testing import CliRunner

from billing_cli.lag import group_lag
from billing_cli.main import app

runner = CliRunner()


async def invoke(args: list[str], **env: str) -> str:
    result = await asyncio.to_thread(runner.invoke, app, args, env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
async def behind_group(kafka_bootstrap: str):  # type: ignore[no-untyped-def]
    """A group that committed offset 1 of 3 records on partition 0 and nothing on partition 1."""
    topic, group = f"test.lag.{uuid.uuid4().hex[:10]}", f"test-lag-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    for i in range(3):
        await producer.send_and_wait(topic, f"m{i}".encode(), partition=0)
    await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    consumer.assign([TopicPartition(topic, 0)])
    await consumer.commit({TopicPartition(topic, 0): 1})
    await consumer.stop()
    try:
        yield topic, group
    finally:
        await admin.delete_topics([topic])
        await admin.close()


async def test_lag_counts_each_partition_a_group_is_behind_on(
    kafka_bootstrap: str, behind_group: tuple[str, str]
) -> None:
    topic, group = behind_group
    assert await group_lag(kafka_bootstrap, [group]) == {group: 2}
    output = await invoke(
        ["lag", "--group", group, "--json"], KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap
    )
    rows = {row["partition"]: row for row in json.loads(output)}
    assert rows[0] == {
        "group": group,
        "topic": topic,
        "partition": 0,
        "committed": 1,
        "end": 3,
        "lag": 2,
    }
    assert (rows[1]["committed"], rows[1]["lag"]) == (None, 0)
    table = await invoke(["lag", "--group", group], KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    assert group in table and "total lag 2" in table


async def test_dlq_show_prints_the_whole_payload_and_error_and_list_the_full_ids(
    database_url: str,
) -> None:
    consumer, message_id = f"test-cli-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    payload = json.dumps({"type": "PaymentSucceeded", "note": "x" * 300})
    error = "permanent: " + "y" * 300
    conn = await asyncpg.connect(database_url)
    try:
        letter_id = await conn.fetchval(
            "INSERT INTO payments_history.dead_letters (consumer, message_id, origin_topic,"
            " origin_partition, origin_offset, key, payload, error)"
            " VALUES ($1, $2, 'billing.events.v1', 4, 99, 'k', $3, $4) RETURNING id",
            consumer,
            message_id,
            payload,
            error,
        )
        shown = await invoke(["dlq", "show", str(letter_id)], DATABASE_URL=database_url)
        assert error in shown and "x" * 300 in shown and str(message_id) in shown
        as_json = json.loads(
            await invoke(["dlq", "show", str(letter_id), "--json"], DATABASE_URL=database_url)
        )
        assert (as_json["payload"], as_json["error"]) == (payload, error)
        listed = await invoke(
            ["dlq", "list", "--consumer", consumer, "--json"], DATABASE_URL=database_url
        )
        assert [row["message_id"] for row in json.loads(listed)] == [str(message_id)]
        table = await invoke(["dlq", "list", "--consumer", consumer], DATABASE_URL=database_url)
        assert str(message_id) in table
    finally:
        await conn.execute(
            "DELETE FROM payments_history.dead_letters WHERE consumer = $1", consumer
        )
        await conn.close()


def test_dlq_show_of_a_missing_letter_fails_clearly(database_url: str) -> None:
    result = runner.invoke(app, ["dlq", "show", "999999999"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert "no dead letter 999999999" in result.output


def test_keys_expire_refuses_a_retention_under_24_hours() -> None:
    result = runner.invoke(app, ["keys", "expire", "--older-than-hours", "23"])
    assert result.exit_code != 0
