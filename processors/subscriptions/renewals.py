"""RenewSubscription: charge the saved card for one period, exactly once.

T1 (under the user's lock): check the command still means something — the period is the
next one, renewal is on, the dunning attempt is the one this command is for — and insert
the renewal payment row, whose id is a function of (subscription, period, attempt). Then
the provider call, with `Idempotence-Key` derived from that id, and T2: `apply` moves the
payment and, in the same transaction, the subscription (`lifecycle`): a new period, or
dunning. A crash anywhere repeats the same call under the same key: one charge.

YooKassa forgets a key after 24 h: an attempt whose payment row is older than
`renewal_lookup_after_s` and still `accepted` (the outcome never came back) is first looked
up with the list call by its time range and our metadata, and only sent if nothing is found.
A transient provider failure raises: the user's lane retries with capped backoff.

54-FZ receipts: the attempt's receipt is fixed when its row is inserted, and an existing row
is always sent again with exactly the body it was first sent with (its stored receipt, or
none: a row from before the receipts deploy or from PROVIDER_RECEIPTS=off may already have
charged the card). Receipts on and no email for the subscriber is decided in T1 only, before
the row exists: the row is inserted and failed there (`receipt_contact_required`, dunning
follows), in the same transaction, so it can never have been sent.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from domain.payments import PaymentStatus
from domain.subscriptions import SubscriptionStatus
from processors import apply, inbox
from processors import repository as payments
from processors.errors import ProviderRejected
from processors.inbox import InboxEntry
from processors.provider import receipts
from processors.provider.objects import ProviderPayment
from processors.provider.yookassa import Autopayment
from processors.repository import PaymentRow
from processors.runtime import Context
from processors.subscriptions import repository as repo
from processors.subscriptions.repository import SubscriptionRow
from processors.uow import PgStore
from schemas import ids
from schemas.messages import RenewSubscription

log = logging.getLogger(__name__)
LOOKUP_MARGIN = timedelta(minutes=5)
CONTACT_REQUIRED = "receipt_contact_required"


def still_wanted(sub: SubscriptionRow | None, cmd: RenewSubscription) -> bool:
    """Whether `cmd` is the renewal attempt this subscription is waiting for."""
    if sub is None or sub.id != cmd.subscription_id or sub.card is None:
        return False
    s = sub.state
    if sub.periods + 1 != cmd.period_number or not s.renews:
        return False
    if cmd.attempt == 0:
        return s.status is SubscriptionStatus.ACTIVE and s.dunning_attempt == 0
    return s.status is SubscriptionStatus.PAST_DUE and s.dunning_attempt == cmd.attempt


async def renew(cmd: RenewSubscription, origin: InboxEntry, ctx: Context) -> None:
    if await inbox.seen(ctx.pool, origin.consumer, cmd.message_id):
        return
    prepared = await _prepare(cmd, origin, ctx)
    if prepared is None:
        return
    row, created_at, method = prepared
    if row.status is not PaymentStatus.ACCEPTED:
        await _record(ctx, origin)  # decided before a crash: lifecycle already ran with it
        return
    try:
        obj = await _charge_once(ctx, cmd, row, created_at, method)
    except ProviderRejected as exc:
        await _fail(ctx, row, origin, exc.code or str(exc))
        return
    await apply.apply_payment_in_transaction(ctx, row, obj, origin)


async def _fail(ctx: Context, row: PaymentRow, origin: InboxEntry, reason: str) -> None:
    async with ctx.uow.transaction() as tx:
        await apply.fail_payment(tx, row, reason, topic=_topic(ctx))
        await tx.record(origin)


def _topic(ctx: Context) -> str:
    return ctx.settings.events_topic


async def _prepare(
    cmd: RenewSubscription, origin: InboxEntry, ctx: Context
) -> tuple[PaymentRow, datetime, str] | None:
    """T1: the attempt's payment row (made now if the attempt is still wanted), or None."""
    payment_id = ids.renewal_payment_id(cmd.subscription_id, cmd.period_number, cmd.attempt)
    async with ctx.pool.acquire() as conn, conn.transaction():
        await repo.lock_user(conn, cmd.user_id)
        existing = await _attempt_row(conn, payment_id)
        if existing is None:
            return await _begin_attempt(conn, cmd, origin, ctx, payment_id)
    return existing


async def _begin_attempt(
    conn: asyncpg.Connection,
    cmd: RenewSubscription,
    origin: InboxEntry,
    ctx: Context,
    payment_id: Any,
) -> tuple[PaymentRow, datetime, str] | None:
    """The new attempt's row, or None when nothing is to be sent: the attempt is no longer
    wanted, or receipts are on and there is no email (the row is failed here, unsent)."""
    sub = await repo.load(conn, cmd.user_id)
    if not still_wanted(sub, cmd) or sub is None or sub.card is None:
        await inbox.record(conn, origin)
        return None
    receipts_on = ctx.settings.provider_receipts
    receipt = await _insert_attempt(conn, cmd, sub, payment_id, receipts_on)
    made = await _attempt_row(conn, payment_id)
    if made is None:
        raise LookupError(f"renewal payment {payment_id} vanished")
    if receipts_on and receipt is None:
        await apply.fail_payment(PgStore(conn), made[0], CONTACT_REQUIRED, topic=_topic(ctx))
        await inbox.record(conn, origin)
        return None
    return made


async def _attempt_row(
    conn: asyncpg.Connection, payment_id: Any
) -> tuple[PaymentRow, datetime, str] | None:
    row = await payments.load_payment(conn, payment_id)
    if row is None:
        return None
    extra = await conn.fetchrow(
        "SELECT created_at, payment_method_id FROM payments_history.payments WHERE id = $1",
        payment_id,
    )
    return row, extra["created_at"], extra["payment_method_id"]


async def _insert_attempt(
    conn: asyncpg.Connection,
    cmd: RenewSubscription,
    sub: SubscriptionRow,
    payment_id: Any,
    receipts_on: bool,
) -> dict[str, Any] | None:
    """Insert the attempt's row; its receipt (None: receipts off, or no email)."""
    plan = await repo.load_plan(conn, sub.plan_id)
    if plan is None or sub.card is None:
        raise LookupError(f"subscription {sub.id}: plan or card missing")
    email = await repo.customer_email(conn, sub.user_id)
    receipt = renewal_receipt(receipts_on, plan, email)
    await conn.execute(
        """INSERT INTO payments_history.payments
               (id, user_id, plan_id, amount, currency, status, system_id, idempotency_key,
                request_fingerprint, return_url, auto_renew, subscription_id, period_number,
                payment_method_id, customer_email, receipt)
           VALUES ($1, $2, $3, $4, $5, $11::text, $6, $7, 'renewal', '', true, $8, $9, $10,
                   $12, $13::jsonb)
           ON CONFLICT (user_id, idempotency_key) DO NOTHING""",
        payment_id,
        sub.user_id,
        plan.id,
        plan.amount,
        plan.currency,
        ids.SYSTEM_YOOKASSA,
        ids.renewal_idempotency_key(cmd.period_number, cmd.attempt),
        sub.id,
        cmd.period_number,
        sub.card.payment_method_id,
        str(PaymentStatus.ACCEPTED),
        email,
        receipt,
    )
    return receipt


def renewal_receipt(enabled: bool, plan: repo.Plan, email: str | None) -> dict[str, Any] | None:
    """The autopayment's 54-FZ receipt, fixed with its row so every attempt sends the same
    body; ``None`` without an email (the attempt is then failed unsent, see `_begin_attempt`)."""
    try:
        return receipts.receipt_for(enabled, plan.receipt_line, plan.amount, plan.currency, email)
    except receipts.ReceiptContactRequired:
        log.error("subscription renewal for %s: no email for the receipt", plan.id)
        return None


async def _charge_once(
    ctx: Context, cmd: RenewSubscription, row: PaymentRow, created_at: datetime, method: str
) -> ProviderPayment:
    """The provider's object for this attempt: found by listing when the key may be forgotten."""
    age = await repo.now(ctx.pool) - created_at
    if age > timedelta(seconds=ctx.settings.renewal_lookup_after_s):
        found = await find_by_listing(ctx, row, created_at)
        if found is not None:
            return found
        log.warning("renewal %s: not at the provider after %s; sending it now", row.id, age)
    charge = Autopayment(
        user_id=row.user_id,
        subscription_id=cmd.subscription_id,
        period=cmd.period_number,
        amount=row.amount,
        currency=row.currency,
        payment_method_id=method,
        description=f"Subscription {row.plan_id}, period {cmd.period_number}",
        receipt=row.receipt,
    )
    return await ctx.provider.create_autopayment(row.id, charge)


async def find_by_listing(
    ctx: Context, row: PaymentRow, created_at: datetime
) -> ProviderPayment | None:
    """Page through the provider's payments since the attempt began, matching our metadata."""
    until = await repo.now(ctx.pool) + LOOKUP_MARGIN
    cursor: str | None = None
    while True:
        items, cursor = await ctx.provider.list_payments(created_at - LOOKUP_MARGIN, until, cursor)
        for item in items:
            if item.our_payment_id == row.id:
                return item
        if not cursor:
            return None


async def _record(ctx: Context, origin: InboxEntry) -> None:
    async with ctx.pool.acquire() as conn:
        await inbox.record(conn, origin)
