"""The commands every writer sends — the gateway, the admin, the reconciler's re-drive.

Built here only, so they are the same whoever builds them; the `message_id` is not given:
`schemas` derives it from the payment or refund id (`schemas.ids.message_id`), which is
what lets the processors' inbox recognise a repeat.
"""

from decimal import Decimal
from uuid import UUID

from domain import payments
from schemas.messages import CreatePayment, RefundPayment


def create_payment(
    *,
    payment_id: UUID,
    user_id: UUID,
    plan_id: str,
    amount: Decimal,
    currency: str,
    return_url: str,
) -> CreatePayment:
    return CreatePayment.model_validate(
        {
            "payment_id": payment_id,
            "user_id": user_id,
            "plan_id": plan_id,
            "amount": amount,
            "currency": currency,
            "return_url": return_url,
            "description": payments.description(plan_id),
        }
    )


def refund_payment(
    *,
    refund_id: UUID,
    payment_id: UUID,
    user_id: UUID,
    amount: Decimal,
    currency: str,
    requested_by: str,
) -> RefundPayment:
    return RefundPayment.model_validate(
        {
            "refund_id": refund_id,
            "payment_id": payment_id,
            "user_id": user_id,
            "amount": amount,
            "currency": currency,
            "requested_by": requested_by,
        }
    )
