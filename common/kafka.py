"""Kafka client factories: idempotent producers with acks=all; readers see committed data only."""

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from common.settings import Settings


def make_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 2,
        "request_timeout_ms": 10_000,
        "retry_backoff_ms": 200,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(
    settings: Settings, group_id: str, *topics: str, **overrides: Any
) -> AIOKafkaConsumer:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_poll_records": 500,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 3_000,
        "max_poll_interval_ms": 300_000,
        # A topic created after the consumer subscribed (a fresh `make up` starts the
        # programs before it creates the topics) is assigned at the next metadata refresh:
        # seconds, not aiokafka's default five minutes.
        "metadata_max_age_ms": 5_000,
        # How long the broker holds a fetch that finds nothing new (a fetch that finds a
        # record is answered at once: fetch_min_bytes=1). aiokafka's 500 ms made each idle
        # reader send two fetches a second; docs/performance.md has the idle CPU it saves.
        "fetch_max_wait_ms": 5_000,
    }
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **options)
