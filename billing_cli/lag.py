"""Consumer lag of the stack's groups: committed offsets against what is really left to read.

A committed offset behind the end offset is not always lag: transaction markers occupy
offsets that no consumer ever sees. So a partition that looks behind is read from its
committed offset (read_committed) and only real records count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

READ_TIMEOUT_MS = 2_000


async def group_lag(bootstrap: str, groups: Iterable[str]) -> dict[str, int]:
    """{group: records committed to its topics but not yet committed by the group}."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        request_timeout_ms=10_000,
    )
    await admin.start()
    await reader.start()
    try:
        await reader.topics()  # loads metadata for every topic, so partitions are known
        return {group: await _lag_of(admin, reader, group) for group in groups}
    finally:
        await reader.stop()
        await admin.close()


async def _lag_of(admin: AIOKafkaAdminClient, reader: AIOKafkaConsumer, group: str) -> int:
    committed = await admin.list_consumer_group_offsets(group)
    topics = {tp.topic for tp in committed}
    partitions = [tp for topic in topics for tp in _partitions(reader, topic)]
    if not partitions:
        return 0
    ends = await reader.end_offsets(partitions)
    lag = 0
    for tp in partitions:
        meta = committed.get(tp)
        start = meta.offset if meta is not None and meta.offset >= 0 else 0
        if ends[tp] > start:
            lag += await _records_between(reader, tp, start, ends[tp])
    return lag


def _partitions(reader: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    numbers = reader.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(numbers)]


async def _records_between(
    reader: AIOKafkaConsumer, tp: TopicPartition, start: int, end: int
) -> int:
    """How many real (non-marker) records lie in [start, end), read once."""
    reader.assign([tp])
    reader.seek(tp, start)
    count = 0
    while await reader.position(tp) < end:
        batch = await reader.getmany(tp, timeout_ms=READ_TIMEOUT_MS, max_records=500)
        records = batch.get(tp, [])
        if not records:
            break
        count += sum(1 for r in records if r.offset < end)
    return count


async def wait_for_zero_lag(
    bootstrap: str, groups: Iterable[str], within: float, every: float = 2.0
) -> dict[str, int]:
    """Poll until every group's lag is 0 or `within` seconds pass; return the last lag."""
    groups = list(groups)
    deadline = asyncio.get_running_loop().time() + within
    while True:
        lag = await group_lag(bootstrap, groups)
        if not any(lag.values()) or asyncio.get_running_loop().time() > deadline:
            return lag
        await asyncio.sleep(every)
