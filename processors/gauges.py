"""Gauges read from PostgreSQL and Kafka, computed by one process (the reconciler) every
`METRICS_COLLECT_INTERVAL_S`, so the other processes add no load for them.

* consumer lag per group and partition: the group's committed offset against the partition's
  end (the stack's producers are not transactional, so no marker inflates it);
* outbox backlog and the age of its oldest unpublished row;
* payments and refunds by status, and the really stuck ones (`domain.stuck`);
* dead letters not reinjected yet, by consumer.

Each pass builds complete metric families and swaps them in at once: a scrape never sees a
half-updated set, and a label set that disappeared (a drained DLQ) disappears from it.
With several reconciler instances each exports the same values; the alert rules take `max`
over instances.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from common.retry import pause
from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from domain.stuck import StuckRule
from domain.subscriptions import SubscriptionStatus
from processors.settings import ProcessorSettings
from processors.subscriptions.schedule import RENEW

log = logging.getLogger(__name__)

# Stuck, not merely unpaid: `domain.stuck.StuckRule` (the admin's tile counts by it too);
# its per-status ages are joined in, so this query holds no rule of its own.
_PAYMENTS = """
SELECT p.status, count(*) AS n,
       count(*) FILTER (WHERE p.created_at < now() - make_interval(secs => a.age)) AS stuck
FROM payments_history.payments p
LEFT JOIN unnest($1::text[], $2::float8[]) AS a(status, age) ON a.status = p.status
GROUP BY p.status
"""
STUCK_REASONS = {
    PaymentStatus.ACCEPTED: "accepted_past_redrive",
    PaymentStatus.PENDING: "pending_past_provider_expiry",
}
_REFUNDS = """
SELECT status, count(*) AS n,
       count(*) FILTER (WHERE status = $2::text
                        AND created_at < now() - make_interval(secs => $1)) AS accepted_stuck
FROM payments_history.refunds GROUP BY status
"""
# Only the topics the relay owns (RELAY_TOPICS, as processors/relay.py selects them): rows
# of another relay's topic (a test's private one) are not this relay's backlog.
_OUTBOX = """
SELECT count(*) AS n, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) AS age
FROM payments_history.outbox
WHERE published_at IS NULL AND ($1::text[] IS NULL OR topic = ANY($1::text[]))
"""
_DEAD_LETTERS = """
SELECT consumer, count(*) AS n FROM payments_history.dead_letters
WHERE reinjected_at IS NULL GROUP BY consumer
"""


class Snapshot(Collector):
    """Metric families replaced as a whole by each collection pass."""

    def __init__(self) -> None:
        self.families: dict[str, list[Metric]] = {}

    def collect(self) -> Iterator[Metric]:
        for families in list(self.families.values()):
            yield from families


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


async def _payments(pool: asyncpg.Pool, settings: ProcessorSettings) -> list[Metric]:
    ages = StuckRule.of(settings).ages()
    by_status = _gauge("billing_payments", "Payments by status", ["status"])
    refunds = _gauge("billing_refunds", "Refunds by status", ["status"])
    stuck = _gauge(
        "billing_stuck",
        "Payments/refunds accepted past the re-drive age, or pending past the provider's expiry",
        ["object", "reason"],
    )
    stuck_by_status = dict.fromkeys(ages, 0)
    statuses, seconds = [str(s) for s in ages], [age.total_seconds() for age in ages.values()]
    for row in await pool.fetch(_PAYMENTS, statuses, seconds):
        by_status.add_metric([row["status"]], row["n"])
        if row["status"] in stuck_by_status:
            stuck_by_status[PaymentStatus(row["status"])] += row["stuck"]
    refunds_stuck = 0
    after = settings.reconcile_after_seconds
    for row in await pool.fetch(_REFUNDS, after, str(RefundStatus.ACCEPTED)):
        refunds.add_metric([row["status"]], row["n"])
        refunds_stuck += row["accepted_stuck"]
    for status, n in stuck_by_status.items():
        stuck.add_metric(["payment", STUCK_REASONS[status]], n)
    stuck.add_metric(["refund", "accepted_past_redrive"], refunds_stuck)
    return [by_status, refunds, stuck]


async def _outbox(pool: asyncpg.Pool, settings: ProcessorSettings) -> list[Metric]:
    row = await pool.fetchrow(_OUTBOX, settings.relay_topic_list or None)
    backlog = GaugeMetricFamily("billing_outbox_backlog", "Outbox rows not published yet")
    backlog.add_metric([], row["n"])
    age = GaugeMetricFamily(
        "billing_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (0: none)"
    )
    age.add_metric([], float(row["age"]))
    return [backlog, age]


async def _dead_letters(pool: asyncpg.Pool, _: ProcessorSettings) -> list[Metric]:
    pending = _gauge(
        "billing_dead_letters_pending", "Dead letters not reinjected yet, by consumer", ["consumer"]
    )
    for row in await pool.fetch(_DEAD_LETTERS):
        pending.add_metric([row["consumer"]], row["n"])
    return [pending]


_SUBSCRIPTIONS = "SELECT status, count(*) AS n FROM payments_history.subscriptions GROUP BY status"
_RENEWALS_DUE = """
SELECT count(*) FROM payments_history.subscription_due
WHERE kind = $1 AND done_at IS NULL AND due_at < now() + interval '24 hours'
"""


async def _subscriptions(pool: asyncpg.Pool, _: ProcessorSettings) -> list[Metric]:
    by_status = _gauge("billing_subscriptions", "Subscriptions by status", ["status"])
    counts = {str(s): 0 for s in SubscriptionStatus}
    counts.update({row["status"]: row["n"] for row in await pool.fetch(_SUBSCRIPTIONS)})
    for status, n in counts.items():
        by_status.add_metric([status], n)
    due = _gauge("billing_renewals_due_24h", "Renewal charges due within the next 24 hours", [])
    due.add_metric([], await pool.fetchval(_RENEWALS_DUE, RENEW))
    return [by_status, due]


# Every database-derived family, each one function of the same shape.
DATABASE_SOURCES: tuple[
    Callable[[asyncpg.Pool, ProcessorSettings], Awaitable[list[Metric]]], ...
] = (_payments, _outbox, _dead_letters, _subscriptions)


async def database_families(pool: asyncpg.Pool, settings: ProcessorSettings) -> list[Metric]:
    return [family for source in DATABASE_SOURCES for family in await source(pool, settings)]


class LagReader:
    """Committed offsets of the configured groups against their topics' end offsets."""

    def __init__(self, settings: ProcessorSettings) -> None:
        self._groups = settings.lag_group_topics
        bootstrap = settings.kafka_bootstrap_servers
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
        self._reader = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=5_000
        )
        self._started = False

    async def families(self) -> list[Metric]:
        if not self._started:
            self._started = True  # from here on close() stops whichever of the two started
            await self._admin.start()
            await self._reader.start()
        lag = _gauge(
            "billing_consumer_lag",
            "Records in the partition after the group's committed offset",
            ["group", "topic", "partition"],
        )
        committed = _gauge(
            "billing_consumer_committed_offset",
            "The group's committed offset",
            ["group", "topic", "partition"],
        )
        partitions = await self._partitions(set(self._groups.values()))
        for group, topic in self._groups.items():
            for tp, done, behind in await self._group(group, partitions.get(topic, [])):
                labels = [group, tp.topic, str(tp.partition)]
                lag.add_metric(labels, behind)
                committed.add_metric(labels, done)
        return [lag, committed]

    async def _partitions(self, topics: set[str]) -> dict[str, list[TopicPartition]]:
        described = await self._admin.describe_topics(sorted(topics))
        return {
            t["topic"]: [TopicPartition(t["topic"], p["partition"]) for p in t["partitions"]]
            for t in described
        }

    async def _group(
        self, group: str, tps: list[TopicPartition]
    ) -> list[tuple[TopicPartition, int, int]]:
        if not tps:
            return []
        offsets = await self._admin.list_consumer_group_offsets(group, partitions=tps)
        begins = await self._reader.beginning_offsets(tps)
        ends = await self._reader.end_offsets(tps)
        rows = []
        for tp in tps:
            meta = offsets.get(tp)
            done = max(meta.offset if meta is not None else -1, begins[tp])
            rows.append((tp, done, max(0, ends[tp] - done)))
        return rows

    async def close(self) -> None:
        if self._started:
            with contextlib.suppress(Exception):
                await self._reader.stop()
            with contextlib.suppress(Exception):
                await self._admin.close()


async def collect_forever(
    pool: asyncpg.Pool, settings: ProcessorSettings, stop: asyncio.Event
) -> None:
    """Refresh the gauges until `stop`; a source that fails drops its families, never the
    process, and `billing_gauges_updated_timestamp_seconds` says when each last worked."""
    snapshot = Snapshot()
    REGISTRY.register(snapshot)
    lag = LagReader(settings)
    updated: dict[str, float] = {}
    try:
        while not stop.is_set():
            await _refresh(snapshot, "postgres", database_families(pool, settings), updated)
            if not await _refresh(snapshot, "kafka", lag.families(), updated):
                await lag.close()  # clients left broken by an outage: fresh ones next pass
                lag = LagReader(settings)
            snapshot.families["updated"] = [_updated(updated)]
            await pause(stop, settings.metrics_collect_interval_s)
    finally:
        REGISTRY.unregister(snapshot)
        await lag.close()


async def _refresh(
    snapshot: Snapshot,
    source: str,
    families: Coroutine[Any, Any, list[Metric]],
    updated: dict[str, float],
) -> bool:
    try:
        snapshot.families[source] = await asyncio.wait_for(families, 30)
    except Exception as exc:  # the source is down: its gauges go absent, alerts see staleness
        log.warning("gauges from %s not refreshed: %r", source, exc)
        snapshot.families.pop(source, None)
        return False
    updated[source] = time.time()
    return True


def _updated(updated: dict[str, float]) -> Metric:
    family = _gauge(
        "billing_gauges_updated_timestamp_seconds",
        "When the reconciler last refreshed the gauges of each source",
        ["source"],
    )
    for source, at in updated.items():
        family.add_metric([source], at)
    return family
