"""The `billing` CLI: its pure parts without I/O, and `replay` against the real Kafka."""

import asyncio
import os
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import jwt
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from typer.testing import CliRunner

from billing_cli import replay
from billing_cli.main import app
from common.settings import DEV_JWT_SECRET, JWT_AUDIENCE, JWT_ISSUER
from gateway.auth import verify_token

runner = CliRunner()


def test_token_local_is_a_jwt_the_gateway_would_accept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", DEV_JWT_SECRET + "-cli-test")
    user_id = uuid.uuid4()

    result = runner.invoke(app, ["token", str(user_id), "--local", "--ttl", "60"])

    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    secret = DEV_JWT_SECRET + "-cli-test"
    assert verify_token(token, secret, issuer=JWT_ISSUER, audience=JWT_AUDIENCE) == user_id
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience=JWT_AUDIENCE)
    assert claims["exp"] - claims["iat"] == 60


def test_token_refuses_a_user_id_that_is_not_a_uuid() -> None:
    result = runner.invoke(app, ["token", "admin", "--local"])

    assert result.exit_code != 0


def test_replay_refuses_two_targets_at_once() -> None:
    result = runner.invoke(app, ["replay", "--group", "g", "--to-earliest", "--to-offset", "3"])

    assert result.exit_code != 0


def test_a_topic_replays_every_group_that_reads_it() -> None:
    assert replay.groups_for(None, "billing.events.v1") == [
        "billing-consumer-subscriptions",
        "billing-consumer-notifications",
    ]
    with pytest.raises(replay.ReplayError):
        replay.groups_for(None, "billing.dlq.v1")


def test_reset_command_is_kafkas_own_tool_with_the_target() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone(timedelta(hours=3)))

    command = replay.reset_command("k:9092", "g", None, replay.Target(at=at), execute=True)

    assert command[0].endswith("infra/kafka/bin/kafka-consumer-groups")
    assert command[1:] == [
        "--bootstrap-server",
        "k:9092",
        "--group",
        "g",
        "--reset-offsets",
        "--to-datetime",
        "2026-01-02T00:04:05.678",
        "--all-topics",
        "--execute",
    ]


def test_reset_waits_for_the_group_to_empty_then_gives_up_on_other_errors() -> None:
    answers = [
        subprocess.CompletedProcess(
            [],
            0,
            "",
            "Assignments can only be reset if the group "
            "'g' is inactive, but the current state is Stable.",
        ),
        subprocess.CompletedProcess([], 0, "GROUP TOPIC PARTITION NEW-OFFSET\ng t 0 0\n", ""),
    ]
    calls: list[list[str]] = []

    def fake(args: list[str]) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return answers.pop(0)

    assert "NEW-OFFSET" in replay.reset_offsets(["tool"], run=fake, within=10)
    assert len(calls) == 2
    broken = subprocess.CompletedProcess([], 1, "", "Error: bootstrap unreachable")
    with pytest.raises(replay.ReplayError, match="unreachable"):
        replay.reset_offsets(["tool"], run=lambda _: broken, within=10)


@pytest.mark.integration
async def test_replay_rewinds_a_group_to_earliest_with_kafkas_tool(kafka_bootstrap: str) -> None:
    topic, group = f"test.cli.{uuid.uuid4().hex[:10]}", f"test-cli-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    try:
        await _produce_and_consume(kafka_bootstrap, topic, group, 3)
        assert await _committed(admin, group, topic) == 3

        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
        result = await asyncio.to_thread(
            runner.invoke,
            app,
            ["replay", "--group", group, "--to-earliest", "--no-stop", "--wait", "0"],
            env=env,
        )

        assert result.exit_code == 0, result.output
        assert await _committed(admin, group, topic) == 0
    finally:
        await admin.delete_topics([topic])
        await admin.close()


async def _produce_and_consume(bootstrap: str, topic: str, group: str, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    for i in range(n):
        await producer.send_and_wait(topic, f"m{i}".encode())
    await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen, deadline = 0, time.monotonic() + 30
    while seen < n and time.monotonic() < deadline:
        batch = await consumer.getmany(timeout_ms=1000)
        seen += sum(len(records) for records in batch.values())
    await consumer.commit()
    await consumer.stop()


async def _committed(admin: AIOKafkaAdminClient, group: str, topic: str) -> int:
    offsets = await admin.list_consumer_group_offsets(group)
    return offsets[TopicPartition(topic, 0)].offset


def test_kafka_datetime_takes_naive_times_as_utc() -> None:
    assert replay.kafka_datetime(datetime(2026, 5, 1, 12, 0)) == "2026-05-01T12:00:00.000"
    assert (
        replay.kafka_datetime(datetime(2026, 5, 1, 12, 0, tzinfo=UTC)) == "2026-05-01T12:00:00.000"
    )
