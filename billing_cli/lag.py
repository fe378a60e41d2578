"""Consumer lag of the stack's groups: committed offsets against what is really left to read.

A committed offset behind the end offset is not always lag: transaction markers occupy
offsets that no consumer ever sees. So a partition that looks behind is read from its
committed offset (read_committed) and only real records count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

READ_TIMEOUT_MS = 2_000


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group never committed here (it starts at the beginning)
    end: int
    lag: int  # real records in [committed, end): transaction markers do not count


async def group_lag(bootstrap: str, groups: Iterable[str]) -> dict[str, int]:
    """{group: records committed to its topics but not yet committed by the group}."""
    groups = list(groups)
    totals = dict.fromkeys(groups, 0)
    for row in await partition_lag(bootstrap, groups):
        totals[row.group] += row.lag
    return totals


async def partition_lag(bootstrap: str, groups: Iterable[str]) -> list[PartitionLag]:
    """Every partition of every topic each group has committed offsets on."""
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
        return [row for group in groups for row in await _lag_of(admin, reader, group)]
    finally:
        await reader.stop()
        await admin.close()


async def _lag_of(
    admin: AIOKafkaAdminClient, reader: AIOKafkaConsumer, group: str
) -> list[PartitionLag]:
    committed = await admin.list_consumer_group_offsets(group)
    partitions = await _partitions(admin, sorted({tp.topic for tp in committed}))
    if not partitions:
        return []
    ends = await reader.end_offsets(partitions)
    rows = []
    for tp in partitions:
        meta = committed.get(tp)
        at = meta.offset if meta is not None and meta.offset >= 0 else None
        start = at or 0
        lag = await _records_between(reader, tp, start, ends[tp]) if ends[tp] > start else 0
        rows.append(PartitionLag(group, tp.topic, tp.partition, at, ends[tp], lag))
    return rows


async def _partitions(admin: AIOKafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    """Every partition of `topics`, from the broker (a bare consumer's metadata has none)."""
    if not topics:
        return []
    described = await admin.describe_topics(topics)
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in sorted(topic["partitions"], key=lambda p: p["partition"])
    ]


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
