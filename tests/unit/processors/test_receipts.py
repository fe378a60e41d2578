"""Receipts our client will send: built for the exact amount, refused without a contact, and
accepted by the sandbox's own 54-FZ checks (which follow YooKassa's)."""

from decimal import Decimal

import pytest

from processors.provider.receipts import (
    ReceiptContactRequired,
    ReceiptPolicy,
    customer_email,
    receipt_for,
)
from sandbox.provider.receipts import check_receipt


@pytest.mark.parametrize("amount", [Decimal("499.00"), Decimal("0.01"), Decimal("123.45")])
def test_receipt_for_any_amount_passes_the_providers_checks(amount: Decimal) -> None:
    receipt = receipt_for(ReceiptPolicy(), "Monthly subscription", amount, "RUB", "a@b.test")
    assert check_receipt(receipt, amount, "RUB", required=True) is not None


def test_refund_receipt_matches_the_refunded_amount_not_the_payment() -> None:
    refund = receipt_for(ReceiptPolicy(), "Refund", Decimal("100.00"), "RUB", "a@b.test")
    assert refund is not None
    assert refund["items"][0]["amount"] == {"value": "100.00", "currency": "RUB"}
    with pytest.raises(Exception, match="add up"):
        check_receipt(refund, Decimal("499.00"), "RUB", required=True)


def test_no_contact_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ReceiptContactRequired):
        receipt_for(ReceiptPolicy(), "Monthly", Decimal("1.00"), "RUB", None)


def test_receipts_off_sends_none_even_without_contact() -> None:
    assert receipt_for(ReceiptPolicy(enabled=False), "M", Decimal("1.00"), "RUB", None) is None


def test_request_email_wins_over_token_claim() -> None:
    assert customer_email("token@x.test", "asked@x.test") == "asked@x.test"
    assert customer_email("token@x.test", None) == "token@x.test"
    assert customer_email(None, "  ") is None
