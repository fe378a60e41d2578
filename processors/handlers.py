"""One async function per command: read state → call the provider → one transaction.

The transaction moves the row with a guarded update, queues the resulting events in the
outbox and records the message in the inbox. A transient provider failure records nothing
and leaves the row `accepted`: the reconciler re-drives it with the same ids, so the
provider's Idempotence-Key turns every retry into the same provider object.

Handlers take `(command, origin, deps)`: `deps` is `ports.Deps` (settings, provider, unit of
work), the real `runtime.Context` in production and in-memory fakes in the unit tests.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from domain import payments, refunds
from domain.errors import NotRefundable
from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from processors import apply, give_up, refund_lookup
from processors.errors import ProviderRejected, ProviderUnavailable
from processors.inbox import InboxEntry
from processors.ports import Deps
from processors.provider import receipts
from processors.repository import PaymentRow, RefundRow
from schemas.messages import CreatePayment, RefundPayment

log = logging.getLogger(__name__)
CONSUMER = "processor-commands"
R = TypeVar("R")


async def eventually(load: Callable[[], Awaitable[R | None]], ctx: Deps) -> R | None:
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
    return payments.description(row.plan_id)


async def create_payment(cmd: CreatePayment, origin: InboxEntry, ctx: Deps) -> None:
    seen, row = await ctx.uow.reads.payment_unless_seen(cmd.payment_id, CONSUMER, cmd.message_id)
    if seen:
        return
    if row is None:
        row = await eventually(lambda: ctx.uow.reads.payment(cmd.payment_id), ctx)
    if row is None:
        log.error("CreatePayment %s: no payment row; left for an operator", cmd.payment_id)
        return
    if row.status is not PaymentStatus.ACCEPTED:
        await ctx.uow.reads.record(origin)
        return
    try:
        obj = await ctx.provider.create_payment(
            row.id,
            row.user_id,
            row.amount,
            row.currency,
            row.return_url,
            payment_description(row),
            save_payment_method=row.auto_renew,
            receipt=row.receipt,  # built once when the payment was accepted
        )
    except ProviderRejected as exc:
        await _fail_payment(ctx, row, origin, f"provider_rejected: {exc}")
        return
    except ProviderUnavailable as exc:
        log.warning(
            "payment %s: provider unavailable (%s); the reconciler re-drives it", row.id, exc
        )
        return
    await apply.apply_payment_in_transaction(ctx, row, obj, origin)


async def _fail_payment(ctx: Deps, row: PaymentRow, origin: InboxEntry, reason: str) -> None:
    async with ctx.uow.transaction() as tx:
        await apply.fail_payment(tx, row, reason, topic=ctx.settings.events_topic)
        await tx.record(origin)


async def refund_payment(cmd: RefundPayment, origin: InboxEntry, ctx: Deps) -> None:
    if await ctx.uow.reads.seen(CONSUMER, cmd.message_id):
        return
    reserved = await _reserve(cmd, origin, ctx)
    if reserved is None:
        return
    refund, payment, sent_before = reserved
    if payment.external_id is None:  # a succeeded payment always has one; never guess
        await give_up.refund_in_transaction(ctx, refund, origin, give_up.NO_PROVIDER_ID)
        return
    if sent_before and await refund_lookup.looked_up(ctx, refund, payment, origin):
        return  # its key may be forgotten soon: looked up, never re-sent blindly
    try:
        obj = await ctx.provider.create_refund(
            refund.id,
            str(payment.external_id),
            refund.amount,
            refund.currency,
            receipt=refund.receipt,
        )
    except ProviderRejected as exc:
        await _fail_refund(ctx, refund, origin, f"provider_rejected: {exc}")
        return
    except ProviderUnavailable as exc:
        log.warning(
            "refund %s: provider unavailable (%s); the reconciler re-drives it", refund.id, exc
        )
        return
    async with ctx.uow.transaction() as tx:
        if await apply.apply_refund(tx, refund, obj, topic=ctx.settings.events_topic):
            await tx.record(origin)  # a pending refund is not done: its re-drive must not skip


async def _reserve(
    cmd: RefundPayment, origin: InboxEntry, ctx: Deps
) -> tuple[RefundRow, PaymentRow, bool] | None:
    """T1: under the payment's row lock, reserve the money or fail the refund for good.
    Also says whether it was reserved before, i.e. sent at least once."""
    async with ctx.uow.transaction() as tx:
        payment = await tx.payment(cmd.payment_id, lock=True)
        refund = await tx.refund(cmd.refund_id, lock=True)
        if payment is None or refund is None:
            log.error("RefundPayment %s: refund or payment row missing", cmd.refund_id)
            return None
        if refund.status is not RefundStatus.ACCEPTED:
            await tx.record(origin)
            return None
        if refund.reserved:
            return refund, payment, True
        held = await tx.reserved_by_others(payment.id, refund.id)
        try:
            left = refunds.available(payment.amount, payment.refunded_amount, held)
            refunds.grant(payment.status, refund.amount, left)
        except NotRefundable as exc:
            await apply.fail_refund(tx, refund, str(exc), topic=ctx.settings.events_topic)
            await tx.record(origin)
            return None
        receipt = refund_receipt(ctx, payment, refund)
        await tx.reserve_refund(refund.id, receipt)
        return replace(refund, reserved=True, receipt=receipt), payment, False


def refund_receipt(ctx: Deps, payment: PaymentRow, refund: RefundRow) -> dict[str, Any] | None:
    """The refund's 54-FZ receipt: its payment's, for the refunded amount (none when receipts
    are off or the payment went without one). Fixed at reservation: every attempt sends it."""
    if not ctx.settings.provider_receipts:
        return None
    return receipts.refund_receipt(payment.receipt, payment.amount, refund.amount, refund.currency)


async def _fail_refund(ctx: Deps, refund: RefundRow, origin: InboxEntry, reason: str) -> None:
    async with ctx.uow.transaction() as tx:
        await apply.fail_refund(tx, refund, reason, topic=ctx.settings.events_topic)
        await tx.record(origin)
