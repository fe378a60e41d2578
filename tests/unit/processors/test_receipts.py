"""Receipts our client sends: built for the exact amount, refused without a contact, and
accepted by the sandbox's own 54-FZ checks (which follow YooKassa's)."""

from decimal import Decimal

import pytest

from processors.provider.receipts import (
    ReceiptContactRequired,
    ReceiptLine,
    customer_email,
    receipt_for,
    refund_receipt,
)
from sandbox.provider.errors import InvalidRequest
from sandbox.provider.receipts import check_receipt

LINE = ReceiptLine("Monthly subscription")


@pytest.mark.parametrize("amount", [Decimal("499.00"), Decimal("0.01"), Decimal("123.45")])
def test_receipt_for_any_amount_passes_the_providers_checks(amount: Decimal) -> None:
    receipt = receipt_for(True, LINE, amount, "RUB", "a@b.test")
    assert check_receipt(receipt, amount, "RUB", required=True) is not None


def test_the_plans_line_is_what_the_receipt_says() -> None:
    line = ReceiptLine("Кино на месяц", Decimal(3), 4, "full_prepayment", "intellectual_activity")
    receipt = receipt_for(True, line, Decimal("600.00"), "RUB", "a@b.test")
    assert receipt is not None
    assert receipt["items"] == [
        {
            "description": "Кино на месяц",
            "quantity": "3",
            "amount": {"value": "200.00", "currency": "RUB"},
            "vat_code": 4,
            "payment_mode": "full_prepayment",
            "payment_subject": "intellectual_activity",
        }
    ]
    assert check_receipt(receipt, Decimal("600.00"), "RUB", required=True) is not None


def test_a_quantity_the_amount_does_not_divide_into_kopecks_becomes_one_unit() -> None:
    receipt = receipt_for(True, ReceiptLine("M", Decimal(3)), Decimal("499.00"), "RUB", "a@b.t")
    assert receipt is not None
    assert receipt["items"][0]["quantity"] == "1"
    assert check_receipt(receipt, Decimal("499.00"), "RUB", required=True) is not None


def test_partial_refund_receipt_matches_the_refunded_amount_not_the_payment() -> None:
    paid = receipt_for(True, ReceiptLine("M", Decimal(2)), Decimal("500.00"), "RUB", "a@b.test")
    refund = refund_receipt(paid, Decimal("500.00"), Decimal("100.01"), "RUB")
    assert refund is not None
    assert refund["customer"] == {"email": "a@b.test"}
    assert refund["items"][0]["amount"] == {"value": "100.01", "currency": "RUB"}
    assert check_receipt(refund, Decimal("100.01"), "RUB", required=True) is not None
    with pytest.raises(InvalidRequest, match="add up"):
        check_receipt(refund, Decimal("500.00"), "RUB", required=True)


def test_full_refund_receipt_repeats_the_payments_lines() -> None:
    paid = receipt_for(True, ReceiptLine("M", Decimal(2)), Decimal("500.00"), "RUB", "a@b.test")
    assert refund_receipt(paid, Decimal("500.00"), Decimal("500.00"), "RUB") == paid
    assert refund_receipt(None, Decimal("500.00"), Decimal("500.00"), "RUB") is None


def test_no_contact_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ReceiptContactRequired):
        receipt_for(True, LINE, Decimal("1.00"), "RUB", None)


def test_receipts_off_sends_none_even_without_contact() -> None:
    assert receipt_for(False, LINE, Decimal("1.00"), "RUB", None) is None


def test_plan_row_without_a_description_uses_the_title() -> None:
    line = ReceiptLine.of_plan("Monthly", {"receipt_description": "", "receipt_vat_code": 2})
    assert (line.description, line.vat_code, line.quantity) == ("Monthly", 2, Decimal(1))


def test_request_email_wins_over_token_claim() -> None:
    assert customer_email("token@x.test", "asked@x.test") == "asked@x.test"
    assert customer_email("token@x.test", None) == "token@x.test"
    assert customer_email(None, "  ") is None
