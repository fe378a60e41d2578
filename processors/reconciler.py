"""`python -m processors.reconciler`: Kill Bill's janitor, once a second.

* `pending` payments whose `next_check_at` is due: re-read from the provider and apply
  (the same code as webhooks), so a payment whose webhooks were all lost still finishes.
  Each check pushes `next_check_at` out by min(base · 2^attempts, cap).
* `accepted` refunds the provider answered `pending` (their provider id is known): re-read
  `GET /v3/refunds/{id}` and apply, on a backoff growing with the refund's age (capped).
* `accepted` payments and refunds (no provider id yet) older than RECONCILE_AFTER_SECONDS:
  their command never arrived or the provider was down; re-produce it with the same
  deterministic message_id (payments on their `check_attempts` backoff, refunds once quiet
  for half their age, both capped).
* What can never progress ends `failed` with its reason (processors/give_up.py): rows still
  `accepted` (never sent) past RECONCILE_GIVE_UP_AFTER_SECONDS. A refund sent without an
  answer is re-driven too, but past REFUND_RESEND_WINDOW_S its command looks it up at the
  provider instead of re-sending it (processors/refund_lookup.py). A row the provider holds
  (its provider id known) is never failed because its re-read is refused: it is re-read on
  its backoff until the provider's own final answer (`billing_reconciler_actions{action=
  "reread_refused"}` counts the refusals).
  Renewal payments are not among them: their RenewSubscription retries in its own lane
  and the scheduler re-drives it (docs/subscriptions.md).

Rows are claimed with `FOR UPDATE SKIP LOCKED` by moving their next check forward in a short
transaction; the provider is called outside it. An operator's "Re-check with provider" sets
`next_check_at = now()`.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from uuid import UUID

from prometheus_client import Counter

from common import logs
from common.producer import Message, Producer
from common.retry import pause
from domain import commands, payments
from domain.refunds import RefundStatus
from processors import apply, gauges, give_up, repository
from processors.errors import (
    LedgerAnomaly,
    ProviderAnswerInvalid,
    ProviderError,
    ProviderRejected,
)
from processors.ports import Deps
from processors.runtime import Context, bootstrap, main
from processors.settings import ProcessorSettings
from schemas.codec import encode

log = logging.getLogger(__name__)
WORK = Counter(
    "billing_reconciler_actions",
    "Reconciler work: pending payments re-read, accepted payments/refunds re-driven",
    ["action"],
)

# A re-read that fails like this will likely fail the same way next time (404, 4xx, unknown
# status): logged as an error and counted, but the row is never failed for it. A re-read
# whose money contradicts our ledger is counted where it is found (`apply.contradiction`,
# `billing_ledger_anomalies_total`) and likewise left as it is, re-read on its backoff.
FOR_GOOD = (ProviderRejected, ProviderAnswerInvalid)

_NEXT = "now() + make_interval(secs => least($2 * power(2, p.check_attempts), $3))"

_CLAIM_PENDING = f"""
UPDATE payments_history.payments p
SET check_attempts = p.check_attempts + 1, next_check_at = {_NEXT}
WHERE p.id IN (SELECT id FROM payments_history.payments
               WHERE status = $4::text AND next_check_at <= now()
               ORDER BY next_check_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING p.id
"""
_CLAIM_ACCEPTED = f"""
UPDATE payments_history.payments p
SET check_attempts = p.check_attempts + 1, next_check_at = {_NEXT}
WHERE p.id IN (SELECT id FROM payments_history.payments
               WHERE status = $4::text AND subscription_id IS NULL
                 AND COALESCE(next_check_at, created_at + make_interval(secs => $2)) <= now()
               ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING p.id, p.user_id, p.plan_id, p.amount, p.currency, p.return_url
"""
# Re-drive an accepted refund once it has been quiet for half its age (at least
# RECONCILE_AFTER_SECONDS, at most the cap), like the pending ones below: not every 30 s.
_CLAIM_REFUNDS = """
UPDATE payments_history.refunds r SET updated_at = now()
WHERE r.id IN (SELECT id FROM payments_history.refunds
               WHERE status = $3::text AND external_id IS NULL
                 AND updated_at <= now() - make_interval(secs => least(greatest(
                     $2, extract(epoch FROM now() - created_at)::float8 / 2), $4))
               ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING r.id, r.payment_id, r.user_id, r.amount, r.currency, r.requested_by
"""
# Still `accepted` past the give-up age: never created at the provider (processors/give_up.py).
_STALE_PAYMENTS = f"""
SELECT id FROM payments_history.payments
WHERE {repository.UNSENT_PAYMENT} AND subscription_id IS NULL
  AND created_at <= now() - make_interval(secs => $2)
ORDER BY created_at LIMIT $1
"""
# Refunds: only never sent ones (not reserved); a reserved one is never failed here.
_STALE_REFUNDS = f"""
SELECT id FROM payments_history.refunds
WHERE {repository.UNSENT_REFUND}
  AND created_at <= now() - make_interval(secs => $2)
ORDER BY created_at LIMIT $1
"""
# A refund the provider answered `pending` (its provider id known): re-read it once it has
# been quiet for half its age, at least RECONCILE_AFTER_SECONDS and at most the cap — a
# geometric backoff (each wait ~1.5x the last) without a counter column.
_CLAIM_PENDING_REFUNDS = """
UPDATE payments_history.refunds r SET updated_at = now()
WHERE r.id IN (SELECT id FROM payments_history.refunds
               WHERE status = $4::text AND external_id IS NOT NULL
                 AND updated_at <= now() - make_interval(secs => least(greatest(
                     $2, extract(epoch FROM now() - created_at)::float8 / 2), $3))
               ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING r.id
"""


@dataclass
class Pass:
    rechecked: int = 0
    rechecked_refunds: int = 0
    redriven_payments: int = 0
    redriven_refunds: int = 0
    gave_up: int = 0


async def run_once(ctx: Context, producer: Producer) -> Pass:
    """One janitor pass (also what an operator's CLI calls)."""
    result = Pass()
    result.gave_up = await give_up_stale(ctx)
    result.rechecked = await recheck_pending(ctx)
    result.rechecked_refunds = await recheck_pending_refunds(ctx)
    result.redriven_payments = await redrive_payments(ctx, producer)
    result.redriven_refunds = await redrive_refunds(ctx, producer)
    WORK.labels("recheck_pending").inc(result.rechecked)
    WORK.labels("recheck_refund").inc(result.rechecked_refunds)
    WORK.labels("redrive_payment").inc(result.redriven_payments)
    WORK.labels("redrive_refund").inc(result.redriven_refunds)
    WORK.labels("gave_up").inc(result.gave_up)
    return result


def _claim_args(ctx: Context, status: str) -> tuple[int, float, float, str]:
    s = ctx.settings
    return s.reconcile_batch, s.reconcile_after_seconds, s.reconcile_backoff_cap_seconds, status


async def recheck_pending(ctx: Context) -> int:
    due = _claim_args(ctx, str(payments.AWAITING_PROVIDER))
    claimed = await ctx.pool.fetch(_CLAIM_PENDING, *due)
    ids_ = [r["id"] for r in claimed]
    semaphore = asyncio.Semaphore(32)

    async def one(payment_id: object) -> None:
        async with semaphore:
            logs.bind(payment_id=payment_id)  # this task's lines are about this payment
            await recheck(ctx, payment_id)  # type: ignore[arg-type]

    await asyncio.gather(*(one(i) for i in ids_))
    return len(ids_)


async def recheck(ctx: Deps, payment_id: UUID) -> None:
    """Re-read one payment from the provider and apply it (the webhook that never came)."""
    row = await ctx.uow.reads.payment(payment_id)
    if row is None or row.external_id is None:
        return
    try:
        obj = await ctx.provider.get_payment(str(row.external_id))
    except FOR_GOOD as exc:
        _refused("payment", row.id, exc)
        return
    except ProviderError as exc:
        log.warning("payment %s: provider re-read failed (%s); next check later", row.id, exc)
        return
    with contextlib.suppress(LedgerAnomaly):  # counted and logged: an operator's
        await apply.apply_payment_in_transaction(ctx, row, obj, None)


def _refused(kind: str, row_id: UUID, exc: Exception) -> None:
    """A re-read refused (4xx, an unknown status) of a row the provider holds: never failed
    for it, however old (wrong-shop credentials would fail paid payments and release refund
    reservations); re-read on its capped backoff until the provider's own final answer."""
    WORK.labels("reread_refused").inc()
    log.error("%s %s: provider re-read refused (%s); next check later", kind, row_id, exc)


async def recheck_pending_refunds(ctx: Context) -> int:
    due = _claim_args(ctx, str(RefundStatus.ACCEPTED))
    claimed = await ctx.pool.fetch(_CLAIM_PENDING_REFUNDS, *due)
    for r in claimed:
        logs.bind(refund_id=r["id"])
        await recheck_refund(ctx, r["id"])
    return len(claimed)


async def recheck_refund(ctx: Deps, refund_id: UUID) -> None:
    """Re-read a refund the provider left pending and apply it (its webhook never came)."""
    refund = await ctx.uow.reads.refund(refund_id)
    if refund is None or refund.external_id is None:
        return
    try:
        obj = await ctx.provider.get_refund(str(refund.external_id))
    except FOR_GOOD as exc:
        _refused("refund", refund.id, exc)
        return
    except ProviderError as exc:
        log.warning("refund %s: provider re-read failed (%s); next check later", refund.id, exc)
        return
    with contextlib.suppress(LedgerAnomaly):  # counted and logged: an operator's
        async with ctx.uow.transaction() as tx:
            await apply.apply_refund(tx, refund, obj, topic=ctx.settings.events_topic)


async def give_up_stale(ctx: Context) -> int:
    """Fail what is still `accepted` past the give-up age: never re-driven again."""
    s = ctx.settings
    age = s.reconcile_give_up_after_seconds
    failed = 0
    for r in await ctx.pool.fetch(_STALE_PAYMENTS, s.reconcile_batch, age):
        row = await ctx.uow.reads.payment(r["id"])
        if row is not None:
            failed += await give_up.payment_in_transaction(ctx, row, give_up.NOT_SENT)
    for r in await ctx.pool.fetch(_STALE_REFUNDS, s.reconcile_batch, age):
        refund = await ctx.uow.reads.refund(r["id"])
        if refund is not None:
            failed += await give_up.refund_in_transaction(ctx, refund, None, give_up.NOT_SENT)
    return failed


async def redrive_payments(ctx: Context, producer: Producer) -> int:
    rows = await ctx.pool.fetch(_CLAIM_ACCEPTED, *_claim_args(ctx, str(payments.NOT_SENT)))
    sent = [
        commands.create_payment(
            payment_id=r["id"],
            user_id=r["user_id"],
            plan_id=r["plan_id"],
            amount=r["amount"],
            currency=r["currency"],
            return_url=r["return_url"],
        )
        for r in rows
    ]
    await _send(ctx, producer, [(str(c.user_id), encode(c)) for c in sent])
    return len(sent)


async def redrive_refunds(ctx: Context, producer: Producer) -> int:
    settings = ctx.settings
    rows = await ctx.pool.fetch(
        _CLAIM_REFUNDS,
        settings.reconcile_batch,
        settings.reconcile_after_seconds,
        str(RefundStatus.ACCEPTED),
        settings.reconcile_backoff_cap_seconds,
    )
    sent = [
        commands.refund_payment(
            refund_id=r["id"],
            payment_id=r["payment_id"],
            user_id=r["user_id"],
            amount=r["amount"],
            currency=r["currency"],
            requested_by=r["requested_by"],
        )
        for r in rows
    ]
    await _send(ctx, producer, [(str(c.user_id), encode(c)) for c in sent])
    return len(sent)


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
