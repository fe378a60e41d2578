"""One async function per command: read state → call the provider → one transaction.

The transaction moves the row with a guarded update, queues the resulting events in the
outbox and records the message in the inbox. A transient provider failure records nothing
and leaves the row `accepted`: the reconciler re-drives it with the same ids, so the
provider's Idempotence-Key turns every retry into the same provider object.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from processors import apply, inbox, repository
from processors.domain import PaymentStatus, RefundStatus, refund_available, require_refundable
from processors.errors import ProviderRejected, ProviderUnavailable, RefundExceedsPayment
from processors.inbox import InboxEntry
from processors.repository import PaymentRow, RefundRow
from processors.runtime import Context
from schemas.messages import CreatePayment, RefundPayment

log = logging.getLogger(__name__)
CONSUMER = "processor-commands"
R = TypeVar("R")


async def eventually(load: Callable[[], Awaitable[R | None]], ctx: Context) -> R | None:
    """A row another writer may not have committed yet: a few tries with backoff."""
    delay = ctx.settings.missing_row_backoff_s
    for attempt in range(ctx.settings.webhook_row_attempts):
        found = await load()
        if found is not None or attempt == ctx.settings.webhook_row_attempts - 1:
            return found
        await asyncio.sleep(delay * 2**attempt)
    return None


def payment_description(row: PaymentRow) -> str:
    """What the card holder sees at the provider, from our row only — never from the command.

    Every attempt for a payment must send the provider the same body under the same
    Idempotence-Key (another body is refused as a reused key); the reconciler's re-drives
    and replays carry none of the gateway's optional fields, the row is the same for all.
    """
    return f"Subscription {row.plan_id}"


async def create_payment(cmd: CreatePayment, origin: InboxEntry, ctx: Context) -> None:
    seen, row = await repository.load_payment_unless_seen(
        ctx.pool, cmd.payment_id, CONSUMER, cmd.message_id
    )
    if seen:
        return
    if row is None:
        row = await eventually(lambda: repository.load_payment(ctx.pool, cmd.payment_id), ctx)
    if row is None:
        log.error("CreatePayment %s: no payment row; left for an operator", cmd.payment_id)
        return
    if row.status is not PaymentStatus.ACCEPTED:
        await _record_only(ctx, origin)
        return
    try:
        obj = await ctx.provider.create_payment(
            row.id, row.user_id, row.amount, row.currency, row.return_url, payment_description(row)
        )
    except ProviderRejected as exc:
        await _fail_payment(ctx, row, origin, f"provider_rejected: {exc}")
        return
    except ProviderUnavailable as exc:
        log.warning(
            "payment %s: provider unavailable (%s); the reconciler re-drives it", row.id, exc
        )
        return
    await _payment_created(ctx, row, obj, origin)


async def _payment_created(ctx: Context, row: PaymentRow, obj: dict, origin: InboxEntry) -> None:
    settings = ctx.settings
    async with ctx.pool.acquire() as conn, conn.transaction():
        await apply.apply_payment(
            conn,
            row,
            obj,
            topic=settings.events_topic,
            recheck_after_s=settings.reconcile_after_seconds,
        )
        await inbox.record(conn, origin)


async def _fail_payment(ctx: Context, row: PaymentRow, origin: InboxEntry, reason: str) -> None:
    async with ctx.pool.acquire() as conn, conn.transaction():
        await apply.fail_payment(conn, row, reason, topic=ctx.settings.events_topic)
        await inbox.record(conn, origin)


async def _record_only(ctx: Context, origin: InboxEntry) -> None:
    async with ctx.pool.acquire() as conn:
        await inbox.record(conn, origin)


async def refund_payment(cmd: RefundPayment, origin: InboxEntry, ctx: Context) -> None:
    if await inbox.seen(ctx.pool, CONSUMER, cmd.message_id):
        return
    reserved = await _reserve(cmd, origin, ctx)
    if reserved is None:
        return
    refund, payment = reserved
    if payment.external_id is None:  # a succeeded payment always has one; never guess
        log.error("refund %s: payment %s has no provider id", refund.id, payment.id)
        return
    try:
        obj = await ctx.provider.create_refund(
            refund.id, str(payment.external_id), refund.amount, refund.currency
        )
    except ProviderRejected as exc:
        await _fail_refund(ctx, refund, origin, f"provider_rejected: {exc}")
        return
    except ProviderUnavailable as exc:
        log.warning(
            "refund %s: provider unavailable (%s); the reconciler re-drives it", refund.id, exc
        )
        return
    async with ctx.pool.acquire() as conn, conn.transaction():
        await apply.apply_refund(conn, refund, obj, topic=ctx.settings.events_topic)
        await inbox.record(conn, origin)


async def _reserve(
    cmd: RefundPayment, origin: InboxEntry, ctx: Context
) -> tuple[RefundRow, PaymentRow] | None:
    """T1: under the payment's row lock, reserve the money or fail the refund for good."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        payment = await repository.load_payment(conn, cmd.payment_id, lock=True)
        refund = await repository.load_refund(conn, cmd.refund_id, lock=True)
        if payment is None or refund is None:
            log.error("RefundPayment %s: refund or payment row missing", cmd.refund_id)
            return None
        if refund.status is not RefundStatus.ACCEPTED:
            await inbox.record(conn, origin)
            return None
        if refund.reserved:
            return refund, payment
        others = await repository.reserved_by_others(conn, payment.id, refund.id)
        try:
            available = refund_available(payment.amount, payment.refunded_amount, others)
            require_refundable(payment.status, refund.amount, available)
        except RefundExceedsPayment as exc:
            await apply.fail_refund(conn, refund, str(exc), topic=ctx.settings.events_topic)
            await inbox.record(conn, origin)
            return None
        await repository.reserve_refund(conn, refund.id)
        return refund, payment


async def _fail_refund(ctx: Context, refund: RefundRow, origin: InboxEntry, reason: str) -> None:
    async with ctx.pool.acquire() as conn, conn.transaction():
        await apply.fail_refund(conn, refund, reason, topic=ctx.settings.events_topic)
        await inbox.record(conn, origin)
