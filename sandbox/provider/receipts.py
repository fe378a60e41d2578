"""54-FZ receipts (``receipt`` on payments, captures and refunds), checked as YooKassa does.

A receipt needs a customer contact (``email`` or ``phone``) and 1..100 items, each with
``description``, ``quantity``, ``amount``, ``vat_code``, ``payment_mode`` and
``payment_subject``; the items must add up to exactly the amount of the payment or refund.
Every problem is a 400 ``invalid_request`` with ``parameter: "receipt"`` (CONTRACT §4) and a
description naming the field. Fields the sandbox does not implement (agent, marking, industry
details, …) are refused, never ignored.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.provider.domain import CENT, parse_money
from sandbox.provider.errors import InvalidRequest

RECEIPT_FIELDS = frozenset({"customer", "items", "tax_system_code"})
CUSTOMER_FIELDS = frozenset({"email", "phone", "full_name", "inn"})
ITEM_FIELDS = frozenset(
    {"description", "quantity", "amount", "vat_code", "payment_mode", "payment_subject", "measure"}
)
PAYMENT_MODES = frozenset(
    {
        "full_prepayment",
        "partial_prepayment",
        "advance",
        "full_payment",
        "partial_payment",
        "credit",
        "credit_payment",
    }
)
PAYMENT_SUBJECTS = frozenset(
    {
        "commodity",
        "excise",
        "job",
        "service",
        "gambling_bet",
        "gambling_prize",
        "lottery",
        "lottery_prize",
        "intellectual_activity",
        "payment",
        "agent_commission",
        "composite",
        "another",
        "property_right",
        "non_operating_gain",
        "insurance_premium",
        "sales_tax",
        "resort_fee",
        "fine",
        "tax",
        "lien",
        "cost",
        "casino",
        "agent_withdrawals",
        "non_marked_excise",
        "marked_excise",
        "marked",
        "non_marked",
    }
)
VAT_CODES = range(1, 13)
TAX_SYSTEM_CODES = range(1, 7)
MAX_ITEMS = 100


def receipt_error(message: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid receipt: {message}", parameter="receipt")


def check_receipt(
    receipt: Any, amount: Decimal, currency: str, required: bool
) -> dict[str, Any] | None:
    """The receipt as it will be stored, or ``None`` when absent and not required."""
    if receipt is None:
        if required:
            raise receipt_error("the shop sends receipts, so receipt is required")
        return None
    if not isinstance(receipt, dict):
        raise receipt_error("receipt must be an object")
    _only(receipt, RECEIPT_FIELDS, "receipt")
    customer = _customer(receipt.get("customer"))
    items = receipt.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise receipt_error(f"items must be a list of 1 to {MAX_ITEMS} items")
    checked = [_item(item, n, currency) for n, item in enumerate(items)]
    total = sum((_line_total(item) for item in checked), Decimal("0.00"))
    if total != amount:
        raise receipt_error(f"items add up to {total}, not to the amount {amount}")
    out: dict[str, Any] = {"customer": customer, "items": checked}
    if "tax_system_code" in receipt:
        out["tax_system_code"] = _code(
            receipt["tax_system_code"], TAX_SYSTEM_CODES, "tax_system_code"
        )
    return out


def _customer(customer: Any) -> dict[str, str]:
    if not isinstance(customer, dict):
        raise receipt_error("customer with an email or phone is required")
    _only(customer, CUSTOMER_FIELDS, "customer")
    if not any(isinstance(customer.get(k), str) and customer[k] for k in ("email", "phone")):
        raise receipt_error("customer.email or customer.phone is required")
    return {key: str(value) for key, value in customer.items()}


def _item(item: Any, n: int, currency: str) -> dict[str, Any]:
    where = f"items[{n}]"
    if not isinstance(item, dict):
        raise receipt_error(f"{where} must be an object")
    _only(item, ITEM_FIELDS, where)
    description = item.get("description")
    if not isinstance(description, str) or not 0 < len(description) <= 128:
        raise receipt_error(f"{where}.description must be 1 to 128 characters")
    amount = item.get("amount")
    if not isinstance(amount, dict):
        raise receipt_error(f"{where}.amount is required")
    try:
        price, item_currency = parse_money(amount.get("value"), amount.get("currency"))
    except InvalidRequest as exc:
        raise receipt_error(f"{where}.{exc.description}") from exc
    if item_currency != currency:
        raise receipt_error(f"{where}.amount.currency differs from the amount's")
    return {
        **{k: v for k, v in item.items() if k == "measure"},
        "description": description,
        "quantity": str(_quantity(item.get("quantity"), where)),
        "amount": {"value": str(price), "currency": item_currency},
        "vat_code": _code(item.get("vat_code"), VAT_CODES, f"{where}.vat_code"),
        "payment_mode": _choice(item.get("payment_mode"), PAYMENT_MODES, f"{where}.payment_mode"),
        "payment_subject": _choice(
            item.get("payment_subject"), PAYMENT_SUBJECTS, f"{where}.payment_subject"
        ),
    }


def _line_total(item: dict[str, Any]) -> Decimal:
    return (Decimal(item["amount"]["value"]) * Decimal(item["quantity"])).quantize(CENT)


def _quantity(value: Any, where: str) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        quantity = Decimal(0)
    if isinstance(value, bool) or not quantity.is_finite() or quantity <= 0:
        raise receipt_error(f"{where}.quantity must be a positive number")
    return quantity


def _code(value: Any, allowed: range, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise receipt_error(f"{name} must be an integer")
    if int(value) not in allowed:
        raise receipt_error(f"{name} must be from {allowed.start} to {allowed.stop - 1}")
    return int(value)


def _choice(value: Any, allowed: frozenset[str], name: str) -> str:
    if value not in allowed:
        raise receipt_error(f"{name} must be one of {sorted(allowed)}")
    return str(value)


def _only(obj: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise receipt_error(f"{where}.{unknown[0]} is not supported by the sandbox")
