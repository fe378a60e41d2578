"""Creates the project's Kafka topics, idempotently, with explicit partition counts.

Waits (bounded) for the broker first, so `make up` can call it right after starting Kafka.
Partition counts come from `schemas.topics.TOPICS` (topic name -> partitions); until that
module exists, the fallback below mirrors CONTRACT §3. An existing topic is left as it is:
adding partitions would move keys to other partitions and break per-key ordering, so a
count that differs is reported, not "fixed".
"""

import argparse
import asyncio
import logging
import os

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

FALLBACK_TOPICS: dict[str, int] = {
    "billing.commands.v1": 12,
    "billing.webhooks.v1": 12,
    "billing.events.v1": 12,
    "billing.dlq.v1": 3,
}


def wanted_topics() -> dict[str, int]:
    try:
        from schemas.topics import TOPICS
    except ImportError:
        return dict(FALLBACK_TOPICS)
    return dict(TOPICS)


async def connected_admin(bootstrap: str) -> AIOKafkaAdminClient:
    """An admin client once the broker answers; retries forever (the caller bounds it)."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # retried here, said once
    waiting = False
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
        try:
            await admin.start()
            await admin.list_topics()
            return admin
        except (KafkaConnectionError, KafkaError, OSError):
            await admin.close()
            if not waiting:
                print(f"kafka: waiting for the broker at {bootstrap}...", flush=True)
                waiting = True
            await asyncio.sleep(1)


async def ensure_topics(bootstrap: str, topics: dict[str, int], wait_s: float) -> None:
    try:
        async with asyncio.timeout(wait_s):
            admin = await connected_admin(bootstrap)
    except TimeoutError:
        raise SystemExit(f"kafka: no broker at {bootstrap} after {wait_s:.0f}s") from None
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=n, replication_factor=1)
            for name, n in topics.items()
            if name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing, timeout_ms=30_000)
            except TopicAlreadyExistsError:
                pass  # created concurrently by another `make up`
            for topic in missing:
                print(f"kafka: created topic {topic.name}")
        await report(admin, topics)
    finally:
        await admin.close()


async def report(admin: AIOKafkaAdminClient, topics: dict[str, int]) -> None:
    for described in await admin.describe_topics(list(topics)):
        name, have = described["topic"], len(described["partitions"])
        note = "" if have == topics[name] else f" (wanted {topics[name]}; left as is)"
        print(f"kafka: topic {name} partitions={have}{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for Kafka")
    args = parser.parse_args()
    asyncio.run(ensure_topics(args.bootstrap, wanted_topics(), args.timeout))


if __name__ == "__main__":
    main()
