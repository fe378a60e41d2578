"""`python -m processors.scheduler`: due subscription work → commands on billing.commands.v1.

Once a second (`SCHEDULER_INTERVAL_S`), in one PostgreSQL transaction: claim the due rows of
`subscription_due` with `FOR UPDATE SKIP LOCKED` (so several schedulers never take the same
row), produce one command per row keyed by the user, with a message_id that is a function of
the work (subscription, period, attempt, due time), wait for every ack, mark the rows done,
commit. A crash before the commit leaves the rows due: they are produced again with the
same message_ids and the commands processor's inbox sees one command. `remind` rows carry
the charge time and are sent `RENEWAL_REMINDER_LEAD_S` early.

It also re-drives renewal attempts stuck `accepted` (their command lost, or the provider
down longer than the lane kept retrying) by producing the same RenewSubscription again.
See docs/subscriptions.md for the failure analysis.
"""

import asyncio
import logging
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from common.producer import Message, Producer
from common.retry import pause
from domain.payments import PaymentStatus
from processors.runtime import connect_pool, main
from processors.settings import ProcessorSettings
from schemas.codec import encode
from schemas.messages import ExpireSubscription, RemindRenewal, RenewSubscription

log = logging.getLogger(__name__)
WORK = Counter(
    "billing_scheduler_actions",
    "Scheduler work: due items turned into commands, renewal attempts re-driven",
    ["action"],
)

_CLAIM_DUE = """
SELECT id, subscription_id, user_id, kind, due_at, period_number, attempt
FROM payments_history.subscription_due
WHERE done_at IS NULL AND due_at <= now() + make_interval(secs => $2)
  AND (kind = 'remind' OR due_at <= now())
  AND ($3::uuid[] IS NULL OR subscription_id = ANY($3::uuid[]))
ORDER BY due_at
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
_DONE = "UPDATE payments_history.subscription_due SET done_at = now() WHERE id = ANY($1)"
# Quiet for half its age (at least RECONCILE_AFTER_SECONDS, at most the cap): an attempt that
# keeps failing the same way (a provider answer we cannot read, dead-lettered each time) is
# re-driven ever more rarely, not every 30 s for good.
_CLAIM_STUCK = """
UPDATE payments_history.payments p SET updated_at = now()
WHERE p.id IN (SELECT id FROM payments_history.payments
               WHERE subscription_id IS NOT NULL AND status = $3::text
                 AND updated_at <= now() - make_interval(secs => least(greatest(
                     $2, extract(epoch FROM now() - created_at)::float8 / 2), $4))
               ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING p.subscription_id, p.user_id, p.period_number, p.idempotency_key
"""


@dataclass
class Tick:
    produced: int = 0
    redriven: int = 0


def command_for(row: asyncpg.Record) -> "Planned":
    """The command a due row asks for; its message_id follows from the fields (schemas)."""
    fields = {"subscription_id": row["subscription_id"], "user_id": row["user_id"]}
    kind = row["kind"]
    if kind == "renew":
        fields |= {"period_number": row["period_number"], "attempt": row["attempt"]}
        return RenewSubscription.model_validate(fields)
    if kind == "remind":
        return RemindRenewal.model_validate(fields | {"period_number": row["period_number"]})
    if kind == "expire":
        return ExpireSubscription.model_validate(fields | {"due_at": row["due_at"]})
    raise ValueError(f"unknown due kind {kind!r}")


async def produce_due(
    pool: asyncpg.Pool, publisher: Producer, s: ProcessorSettings, only: list[UUID] | None = None
) -> int:
    """One batch: claim, produce (acked), mark done, commit. `only` limits it to some
    subscriptions (an operator re-driving one; tests that share a database)."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_CLAIM_DUE, s.scheduler_batch, s.renewal_reminder_lead_s, only)
        if not rows:
            return 0
        wanted = [r for r in rows if r["kind"] != "remind" or s.renewal_reminder_lead_s > 0]
        await _send(publisher, s.commands_topic, [command_for(r) for r in wanted])
        await conn.execute(_DONE, [r["id"] for r in rows])
    return len(rows)


def attempt_of(idempotency_key: str) -> int:
    """`renewal:<period>:<attempt>` → attempt (schemas.ids.renewal_idempotency_key)."""
    return int(idempotency_key.rsplit(":", 1)[1])


async def redrive_stuck(pool: asyncpg.Pool, publisher: Producer, s: ProcessorSettings) -> int:
    rows = await pool.fetch(
        _CLAIM_STUCK,
        s.scheduler_batch,
        s.reconcile_after_seconds,
        str(PaymentStatus.ACCEPTED),
        s.reconcile_backoff_cap_seconds,
    )
    commands: list[Planned] = [
        RenewSubscription.model_validate(
            {
                "subscription_id": r["subscription_id"],
                "user_id": r["user_id"],
                "period_number": r["period_number"],
                "attempt": attempt_of(r["idempotency_key"]),
            }
        )
        for r in rows
    ]
    await _send(publisher, s.commands_topic, commands)
    return len(commands)


Planned = RenewSubscription | RemindRenewal | ExpireSubscription


async def _send(publisher: Producer, topic: str, commands: list[Planned]) -> None:
    """Keyed by the user: a user's commands stay in order on one partition."""
    if commands:
        await publisher.send_all(
            [Message(topic, str(c.user_id).encode(), encode(c)) for c in commands]
        )


async def tick(
    pool: asyncpg.Pool, publisher: Producer, s: ProcessorSettings, only: list[UUID] | None = None
) -> Tick:
    result = Tick()
    while (produced := await produce_due(pool, publisher, s, only)) > 0:
        result.produced += produced
        if produced < s.scheduler_batch:
            break
    if only is None:
        result.redriven = await redrive_stuck(pool, publisher, s)
    WORK.labels("due_produced").inc(result.produced)
    WORK.labels("renewal_redriven").inc(result.redriven)
    return result


async def run(settings: ProcessorSettings, stop: asyncio.Event) -> None:
    pool = await connect_pool(settings, stop)
    publisher = Producer(settings)
    try:
        while not stop.is_set():
            try:
                await tick(pool, publisher, settings)
            except Exception:  # PostgreSQL or Kafka away: the rows stay due
                log.exception("scheduler pass failed; retrying")
            await pause(stop, settings.scheduler_interval_s)
    finally:
        await publisher.close()
        await pool.close()


if __name__ == "__main__":
    main("scheduler", run)
