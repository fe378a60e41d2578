"""`python -m processors.reconciler`: Kill Bill's janitor, once a second.

* `pending` payments whose `next_check_at` is due: re-read from the provider and apply
  (the same code as webhooks), so a payment whose webhooks were all lost still finishes.
  Each check pushes `next_check_at` out by min(base · 2^attempts, cap).
* `accepted` payments and refunds older than RECONCILE_AFTER_SECONDS: their command never
  arrived or the provider was down; re-produce it with the same deterministic message_id.

Rows are claimed with `FOR UPDATE SKIP LOCKED` by moving their next check forward in a short
transaction; the provider is called outside it. An operator's "Re-check with provider" sets
`next_check_at = now()`.
"""

import asyncio
import logging
from dataclasses import dataclass

import asyncpg
from prometheus_client import Counter

from common.producer import Message, Producer
from common.retry import pause
from processors import apply, gauges, repository
from processors.errors import ProviderError
from processors.runtime import Context, bootstrap, main
from processors.settings import ProcessorSettings
from schemas import ids
from schemas.codec import encode
from schemas.messages import CreatePayment, RefundPayment

log = logging.getLogger(__name__)
WORK = Counter(
    "billing_reconciler_actions",
    "Reconciler work: pending payments re-read, accepted payments/refunds re-driven",
    ["action"],
)

_NEXT = "now() + make_interval(secs => least($2 * power(2, p.check_attempts), $3))"

_CLAIM_PENDING = f"""
UPDATE payments_history.payments p
SET check_attempts = p.check_attempts + 1, next_check_at = {_NEXT}
WHERE p.id IN (SELECT id FROM payments_history.payments
               WHERE status = 'pending' AND next_check_at <= now()
               ORDER BY next_check_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING p.id
"""
_CLAIM_ACCEPTED = f"""
UPDATE payments_history.payments p
SET check_attempts = p.check_attempts + 1, next_check_at = {_NEXT}
WHERE p.id IN (SELECT id FROM payments_history.payments
               WHERE status = 'accepted'
                 AND COALESCE(next_check_at, created_at + make_interval(secs => $2)) <= now()
               ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING p.id, p.user_id, p.plan_id, p.amount, p.currency, p.return_url
"""
_CLAIM_REFUNDS = """
UPDATE payments_history.refunds r SET updated_at = now()
WHERE r.id IN (SELECT id FROM payments_history.refunds
               WHERE status = 'accepted' AND updated_at <= now() - make_interval(secs => $2)
               ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING r.id, r.payment_id, r.user_id, r.amount, r.currency, r.requested_by
"""


@dataclass
class Pass:
    rechecked: int = 0
    redriven_payments: int = 0
    redriven_refunds: int = 0


async def run_once(ctx: Context, producer: Producer) -> Pass:
    """One janitor pass (also what an operator's CLI calls)."""
    result = Pass()
    result.rechecked = await recheck_pending(ctx)
    result.redriven_payments = await redrive_payments(ctx, producer)
    result.redriven_refunds = await redrive_refunds(ctx, producer)
    WORK.labels("recheck_pending").inc(result.rechecked)
    WORK.labels("redrive_payment").inc(result.redriven_payments)
    WORK.labels("redrive_refund").inc(result.redriven_refunds)
    return result


def _claim_args(ctx: Context) -> tuple[int, float, float]:
    s = ctx.settings
    return s.reconcile_batch, s.reconcile_after_seconds, s.reconcile_backoff_cap_seconds


async def recheck_pending(ctx: Context) -> int:
    ids_ = [r["id"] for r in await ctx.pool.fetch(_CLAIM_PENDING, *_claim_args(ctx))]
    semaphore = asyncio.Semaphore(32)

    async def one(payment_id: object) -> None:
        async with semaphore:
            await recheck(ctx, payment_id)  # type: ignore[arg-type]

    await asyncio.gather(*(one(i) for i in ids_))
    return len(ids_)


async def recheck(ctx: Context, payment_id: "asyncpg.pgproto.pgproto.UUID") -> None:
    row = await repository.load_payment(ctx.pool, payment_id)
    if row is None or row.external_id is None:
        return
    try:
        obj = await ctx.provider.get_payment(str(row.external_id))
    except ProviderError as exc:
        log.warning("payment %s: provider re-read failed (%s); next check later", row.id, exc)
        return
    async with ctx.pool.acquire() as conn, conn.transaction():
        await apply.apply_payment(
            conn,
            row,
            obj,
            topic=ctx.settings.events_topic,
            recheck_after_s=ctx.settings.reconcile_after_seconds,
        )


async def redrive_payments(ctx: Context, producer: Producer) -> int:
    rows = await ctx.pool.fetch(_CLAIM_ACCEPTED, *_claim_args(ctx))
    commands = [
        CreatePayment(
            message_id=ids.message_id("CreatePayment", r["id"]),
            payment_id=r["id"],
            user_id=r["user_id"],
            plan_id=r["plan_id"],
            amount=r["amount"],
            currency=r["currency"],
            return_url=r["return_url"],
        )
        for r in rows
    ]
    await _send(ctx, producer, [(str(c.user_id), encode(c)) for c in commands])
    return len(commands)


async def redrive_refunds(ctx: Context, producer: Producer) -> int:
    rows = await ctx.pool.fetch(
        _CLAIM_REFUNDS, ctx.settings.reconcile_batch, ctx.settings.reconcile_after_seconds
    )
    commands = [
        RefundPayment(
            message_id=ids.message_id("RefundPayment", r["id"]),
            refund_id=r["id"],
            payment_id=r["payment_id"],
            user_id=r["user_id"],
            amount=r["amount"],
            currency=r["currency"],
            requested_by=r["requested_by"],
        )
        for r in rows
    ]
    await _send(ctx, producer, [(str(c.user_id), encode(c)) for c in commands])
    return len(commands)


async def _send(ctx: Context, producer: Producer, messages: list[tuple[str, bytes]]) -> None:
    if messages:
        topic = ctx.settings.commands_topic
        await producer.send_all([Message(topic, key.encode(), value) for key, value in messages])


async def run(settings: ProcessorSettings, stop: asyncio.Event) -> None:
    ctx = await bootstrap(settings)
    producer = Producer(settings)
    collecting = asyncio.create_task(gauges.collect_forever(ctx.pool, settings, stop))
    try:
        while not stop.is_set():
            try:
                await run_once(ctx, producer)
            except Exception:  # PostgreSQL or Kafka away: the claimed rows come due again
                log.exception("reconciler pass failed; retrying")
            await pause(stop, settings.reconcile_interval_s)
    finally:
        collecting.cancel()
        await asyncio.gather(collecting, return_exceptions=True)
        await producer.close()
        await ctx.aclose()


if __name__ == "__main__":
    main("reconciler", run)
