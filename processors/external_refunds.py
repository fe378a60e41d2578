"""Refunds made outside the pipeline (in the provider's dashboard): recorded, not dropped.

The webhooks processor meets a `refund.succeeded` whose refund is none of ours (our refunds
carry our id in their description, `provider/descriptions.py`, read at the edge into
`ProviderRefund.our_refund_id`, and, once answered, their provider id). Under
the payment's row lock it inserts the refunds row (id derived from the provider's refund id,
so a duplicate notification finds it), `requested_by = provider`, and whether it ends the
time the payment bought as `domain.refund_policy.external_refund_ends_access` decides; the
caller then applies it like any refund (ledger, RefundSucceeded, the period taken back).
A refund that does not fit the payment (another currency, more than is left, an amount we
cannot read) is money our ledger cannot hold: `LedgerAnomaly` (counted, and the notification
dead-lettered with the reason for an operator), nothing recorded.
"""

import logging
from uuid import UUID

import asyncpg

from domain.refund_policy import PaidPeriod, RefundPolicy, external_refund_ends_access
from processors import repository
from processors.apply import contradiction
from processors.provider.objects import ProviderRefund
from processors.repository import PaymentRow, RefundRow
from processors.subscriptions import repository as subscriptions
from schemas import ids

log = logging.getLogger(__name__)

REQUESTED_BY = "provider"


def key_of(obj: ProviderRefund) -> str:
    return f"provider:{obj.id}"


async def record(
    conn: asyncpg.Connection, payment_id: UUID, obj: ProviderRefund, policy: RefundPolicy
) -> RefundRow | None:
    """The refunds row of provider refund `obj` (inserted if new); None if the payment is
    gone. Raises `LedgerAnomaly` if `obj` does not fit the payment."""
    payment = await repository.load_payment(conn, payment_id, lock=True)
    if payment is None:
        return None
    problem, external_id, amount = misfit(payment, obj), obj.external_id, obj.amount
    if problem is not None or external_id is None or amount is None:
        what = f"provider refund {obj.id} of payment {payment.id} not recorded: {problem}"
        raise contradiction("external_refund", what)
    ends = await _ends_access(conn, payment, obj, policy)
    await conn.execute(
        """INSERT INTO payments_history.refunds (id, payment_id, user_id, amount, currency,
               external_id, external_refund, idempotency_key, request_fingerprint,
               requested_by, ends_access)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'provider', $9, $10)
           ON CONFLICT DO NOTHING""",
        ids.refund_id(payment.user_id, key_of(obj)),
        payment.id,
        payment.user_id,
        amount,
        payment.currency,
        external_id,
        obj.raw,
        key_of(obj),
        REQUESTED_BY,
        ends,
    )
    log.warning("recorded refund %s made outside the pipeline (ends access: %s)", obj.id, ends)
    return await repository.find_refund_by_external_id(conn, external_id)


def misfit(payment: PaymentRow, obj: ProviderRefund) -> str | None:
    """Why a refund made outside the pipeline cannot be recorded against `payment`, or None."""
    left = payment.amount - payment.refunded_amount
    if obj.external_id is None or obj.amount is None:
        return "its id or amount cannot be read"
    if obj.currency != payment.currency:
        return f"currency {obj.currency} is not the payment's {payment.currency}"
    if obj.amount > left:
        return f"{obj.amount} {obj.currency} is more than the {left} left to refund"
    return None


async def _ends_access(
    conn: asyncpg.Connection, payment: PaymentRow, obj: ProviderRefund, policy: RefundPolicy
) -> bool:
    period = await subscriptions.period_of_payment(conn, payment.id)
    if period is None or obj.amount is None:
        return True  # the payment bought no period: nothing to keep
    at = await conn.fetchval("SELECT now()")
    paid = PaidPeriod(
        payment.amount, payment.refunded_amount, period["starts_at"], period["ends_at"]
    )
    return external_refund_ends_access(policy, paid, obj.amount, at)
