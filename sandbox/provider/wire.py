"""Payments and refunds rendered exactly as YooKassa API v3 renders them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.provider.domain import (
    CENT,
    Payment,
    Refund,
    RefundStatus,
    YooKassaStatus,
    money,
    receipt_registration,
)
from sandbox.provider.settings import ProviderSettings

PAID = frozenset({YooKassaStatus.WAITING_FOR_CAPTURE, YooKassaStatus.SUCCEEDED})


def iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def payment_object(payment: Payment, settings: ProviderSettings) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": payment.id,
        "status": str(payment.status),
        "paid": payment.status in PAID,
        "amount": money(payment.amount, payment.currency),
        "created_at": payment.created_at,
        "metadata": payment.metadata,
        "recipient": {"account_id": settings.provider_shop_id, "gateway_id": "100700"},
        "refundable": payment.refundable_left > 0,
        "test": True,
    }
    if payment.has_confirmation:
        body["confirmation"] = {
            "type": "redirect",
            "confirmation_url": f"{settings.public_url}/checkout/{payment.id}",
            "return_url": payment.return_url,
        }
    if payment.description is not None:
        body["description"] = payment.description
    if payment.card_last4 is not None:
        body["payment_method"] = _card_method(payment)
    if payment.status is YooKassaStatus.SUCCEEDED:
        body.update(_succeeded_fields(payment, settings))
    if payment.status is YooKassaStatus.WAITING_FOR_CAPTURE and payment.expires_at is not None:
        body["expires_at"] = iso(payment.expires_at)
    registration = receipt_registration(
        payment.receipt,
        payment.receipt_registered_at,
        payment.status is YooKassaStatus.CANCELED,
        time.time(),
    )
    if registration is not None:
        body["receipt_registration"] = registration
    if payment.status is YooKassaStatus.CANCELED:
        body["cancellation_details"] = {
            "party": payment.cancellation_party or "payment_network",
            "reason": payment.cancellation_reason or "general_decline",
        }
    return body


def refund_object(refund: Refund) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": refund.id,
        "payment_id": refund.payment_id,
        "status": str(refund.status),
        "amount": money(refund.amount, refund.currency),
        "created_at": refund.created_at,
    }
    canceled = refund.status is RefundStatus.CANCELED
    if canceled:
        reason = refund.cancellation_reason or "general_decline"
        body["cancellation_details"] = {"party": "refund_network", "reason": reason}
    registration = receipt_registration(
        refund.receipt, refund.receipt_registered_at, canceled, time.time()
    )
    if registration is not None:
        body["receipt_registration"] = registration
    if refund.description is not None:
        body["description"] = refund.description
    if refund.metadata:
        body["metadata"] = refund.metadata
    return body


def _succeeded_fields(payment: Payment, settings: ProviderSettings) -> dict[str, Any]:
    commission = Decimal(settings.provider_commission_percent) / 100
    fee = (payment.amount * commission).quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "captured_at": payment.captured_at,
        "income_amount": money(payment.amount - fee, payment.currency),
        "refunded_amount": money(payment.refunded, payment.currency),
        "authorization_details": {
            "rrn": payment.id.replace("-", "")[:12],
            "auth_code": payment.id.replace("-", "")[-6:],
            "three_d_secure": {"applied": False},
        },
    }


def _card_method(payment: Payment) -> dict[str, Any]:
    last4 = payment.card_last4 or "0000"
    card = payment.card or {  # a row written before the card snapshot existed
        "first6": "424242" if last4 == "4242" else "400000",
        "last4": last4,
        "expiry_month": "12",
        "expiry_year": "2030",
    }
    return {
        "type": "bank_card",
        "id": payment.payment_method_id or payment.id,
        "saved": payment.payment_method_id is not None,
        "title": f"Bank card *{last4}",
        "card": {**card, "card_type": "Visa", "issuer_country": "RU"},
    }
