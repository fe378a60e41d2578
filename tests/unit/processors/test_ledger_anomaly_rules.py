"""What counts as provider money contradicting our ledger (processors/apply.py
`refund_anomaly`, processors/external_refunds.py `misfit`), as pure rules."""

import uuid
from decimal import Decimal

from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from processors.apply import refund_anomaly
from processors.external_refunds import misfit
from processors.provider.objects import ProviderRefund
from processors.repository import PaymentRow, RefundRow

PAYMENT = PaymentRow(
    uuid.uuid4(),
    uuid.uuid4(),
    "monthly",
    Decimal("499.00"),
    "RUB",
    PaymentStatus.SUCCEEDED,
    uuid.uuid4(),
    "",
    None,
    Decimal("450.00"),
    False,
    None,
)


def provider_refund(amount: str | None, currency: str = "RUB", id_: str = "") -> ProviderRefund:
    return ProviderRefund(
        id=id_ or str(uuid.uuid4()),
        payment_id=str(PAYMENT.external_id),
        status=RefundStatus.SUCCEEDED,
        amount=None if amount is None else Decimal(amount),
        currency=currency,
    )


def test_a_dashboard_refund_fits_only_what_is_left_in_our_currency() -> None:
    assert misfit(PAYMENT, provider_refund("49.00")) is None
    assert misfit(PAYMENT, provider_refund("49.01")) == (
        "49.01 RUB is more than the 49.00 left to refund"
    )
    assert misfit(PAYMENT, provider_refund("1.00", "USD")) == (
        "currency USD is not the payment's RUB"
    )
    assert misfit(PAYMENT, provider_refund(None)) == "its id or amount cannot be read"
    assert misfit(PAYMENT, provider_refund("1.00", id_="not-a-uuid")) is not None


def test_our_refund_must_come_back_with_its_id_and_amount() -> None:
    ours = RefundRow(
        uuid.uuid4(),
        PAYMENT.id,
        PAYMENT.user_id,
        Decimal("10.00"),
        "RUB",
        RefundStatus.ACCEPTED,
        None,
        True,
        "api",
    )
    answer = provider_refund("10")
    assert refund_anomaly(ours, answer) is None  # 10 == 10.00, and no id of ours yet
    known = RefundRow(**{**ours.__dict__, "external_id": answer.external_id})
    assert refund_anomaly(known, answer) is None
    assert "provider id differs" in str(refund_anomaly(known, provider_refund("10.00")))
    assert "amount 9.99 RUB differs" in str(refund_anomaly(ours, provider_refund("9.99")))
    assert "differs" in str(refund_anomaly(ours, provider_refund("10.00", "USD")))
