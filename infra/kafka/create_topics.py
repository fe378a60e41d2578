"""Creates the project's Kafka topics, idempotently, with explicit partition counts.

Waits (bounded) for the broker first, so `make up` can call it right after starting Kafka.
Partition counts come from `schemas.topics.TOPICS` (topic name -> partitions); until that
module exists, the fallback below mirrors CONTRACT §3. An existing topic is left as it is:
adding partitions would move keys to other partitions and break per-key ordering, so a
count that differs is reported, not "fixed".

Replication: `--replication-factor` (default KAFKA_REPLICATION_FACTOR, else 1; `make up
KAFKA_BROKERS=3` gives 3). With 3 replicas each topic gets `min.insync.replicas=2`, so an
`acks=all` write is on two brokers before it is acknowledged and one broker may die.
"""

import argparse
import asyncio
import logging
import os
from typing import Any

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


def topic_configs(replication: int) -> dict[str, str]:
    return {"min.insync.replicas": "2"} if replication >= 3 else {}


async def ensure_topics(
    bootstrap: str, topics: dict[str, int], wait_s: float, replication: int = 1
) -> None:
    try:
        async with asyncio.timeout(wait_s):
            admin = await connected_admin(bootstrap)
    except TimeoutError:
        raise SystemExit(f"kafka: no broker at {bootstrap} after {wait_s:.0f}s") from None
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=n,
                replication_factor=replication,
                topic_configs=topic_configs(replication),
            )
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


async def described_topics(
    admin: AIOKafkaAdminClient, names: list[str], settle_s: float = 10.0
) -> list[dict[str, Any]]:
    """The topics as the cluster describes them, once each has its partitions: right after
    creation the metadata may not have reached the broker asked yet (0 partitions shown)."""
    deadline = asyncio.get_running_loop().time() + settle_s
    while True:
        described: list[dict[str, Any]] = await admin.describe_topics(names)
        settled = all(d["partitions"] for d in described)
        if settled or asyncio.get_running_loop().time() >= deadline:
            return described
        await asyncio.sleep(0.3)


async def report(admin: AIOKafkaAdminClient, topics: dict[str, int]) -> None:
    for described in await described_topics(admin, list(topics)):
        name, partitions = described["topic"], described["partitions"]
        have = len(partitions)
        note = "" if have == topics[name] else f" (wanted {topics[name]}; left as is)"
        replicas = min((len(p["replicas"]) for p in partitions), default=0)
        print(f"kafka: topic {name} partitions={have} replicas={replicas}{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for Kafka")
    parser.add_argument(
        "--replication-factor",
        type=int,
        default=int(os.environ.get("KAFKA_REPLICATION_FACTOR") or 1),
    )
    args = parser.parse_args()
    asyncio.run(
        ensure_topics(args.bootstrap, wanted_topics(), args.timeout, args.replication_factor)
    )


if __name__ == "__main__":
    main()
