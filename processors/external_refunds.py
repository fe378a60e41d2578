"""Refunds made outside the pipeline (in the provider's dashboard): recorded, not dropped.

The webhooks processor meets a `refund.succeeded` whose refund is none of ours (our refunds
carry our id in their description, `provider/descriptions.py`, read at the edge into
`ProviderRefund.our_refund_id`, and, once answered, their provider id). Under
the payment's row lock it inserts the refunds row (id derived from the provider's refund id,
so a duplicate notification finds it), `requested_by = provider`, and whether it ends the
time the payment bought as `domain.refund_policy.external_refund_ends_access` decides; the
caller then applies it like any refund (ledger, RefundSucceeded, the period taken back).
"""

import logging
from uuid import UUID

import asyncpg

from domain.refund_policy import PaidPeriod, RefundPolicy, external_refund_ends_access
from processors import repository
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
    """The refunds row of provider refund `obj` (inserted if new); None if it cannot be ours."""
    payment = await repository.load_payment(conn, payment_id, lock=True)
    if payment is None or obj.external_id is None or obj.amount is None:
        return None
    if obj.currency != payment.currency or obj.amount > payment.amount - payment.refunded_amount:
        log.error("provider refund %s does not fit payment %s: not recorded", obj.id, payment.id)
        return None
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
        obj.amount,
        payment.currency,
        obj.external_id,
        obj.raw,
        key_of(obj),
        REQUESTED_BY,
        ends,
    )
    log.warning("recorded refund %s made outside the pipeline (ends access: %s)", obj.id, ends)
    return await repository.find_refund_by_external_id(conn, obj.external_id)


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
