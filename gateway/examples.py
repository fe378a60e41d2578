"""Example bodies for the OpenAPI document: what a client generator and a reader see."""

from typing import Any

from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from domain.subscriptions import SubscriptionStatus

USER = "0b6a1f4e-5c1d-4f9a-9d1e-2f6a7b8c9d0e"
PAYMENT_ID = "6c2f0a1e-8d4b-5e3f-9a7c-1b2d3e4f5a6b"
STAMP = "2026-12-01T10:15:30.123456Z"
CURSOR = "MjAyNi0xMi0wMVQxMDoxNTozMC4xMjM0NTYrMDA6MDB8NmMyZjBhMWU"

CREATE: dict[str, Any] = {"plan_id": "monthly", "return_url": "https://cinema.example/paid"}
REFUND_BODY: dict[str, Any] = {}
PLAN: dict[str, Any] = {
    "id": "monthly",
    "title": "Monthly subscription",
    "amount": "499.00",
    "currency": "RUB",
    "period_days": 30,
}
PAYMENT: dict[str, Any] = {
    "payment_id": PAYMENT_ID,
    "user_id": USER,
    "plan_id": "monthly",
    "amount": "499.00",
    "currency": "RUB",
    "status": str(PaymentStatus.PENDING),
    "confirmation_url": "https://yookassa.example/checkout/2f8e0c2a-000f-5000-9000-1b2d3e4f5a6b",
    "refunded_amount": "0.00",
    "refunded": False,
    "created_at": STAMP,
    "updated_at": STAMP,
}
REFUND: dict[str, Any] = {
    "refund_id": "9e8d7c6b-5a4f-5e3d-8c2b-1a0f9e8d7c6b",
    "payment_id": PAYMENT_ID,
    "status": str(RefundStatus.ACCEPTED),
    "amount": "499.00",
    "currency": "RUB",
    "created_at": STAMP,
}
SUBSCRIPTION: dict[str, Any] = {
    "user_id": USER,
    "status": str(SubscriptionStatus.ACTIVE),
    "active": True,
    "plan_id": "monthly",
    "current_period_start": "2026-12-01T10:15:30Z",
    "current_period_end": "2026-12-31T10:15:30Z",
    "expires_at": "2026-12-31T10:15:30Z",
    "auto_renew": True,
    "cancel_at_period_end": False,
    "payment_method": {"type": "bank_card", "card_last4": "4242", "expiry": "12/2030"},
    "next_charge_at": "2026-12-30T10:15:30Z",
    "next_charge_amount": "499.00",
    "dunning": None,
}
ERROR: dict[str, Any] = {
    "error": {"code": "not_found", "message": "no such payment"},
}

# YooKassa's own wire format: its statuses, not ours.
NOTIFICATION: dict[str, Any] = {
    "type": "notification",
    "event": "payment.succeeded",
    "object": {
        "id": "2f8e0c2a-000f-5000-9000-1b2d3e4f5a6b",
        "status": "succeeded",
        "paid": True,
        "amount": {"value": "499.00", "currency": "RUB"},
        "metadata": {"payment_id": PAYMENT_ID, "user_id": USER},
    },
}


def _json_example(example: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": example}}}


# What FastAPI cannot see in the routes: raw bodies and the untyped answers, by operation id.
OPERATIONS: dict[str, dict[str, Any]] = {
    "yookassaNotification": {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "required": ["type", "event", "object"]},
                    "example": NOTIFICATION,
                }
            },
        },
        "responses": {"200": _json_example({}, "Durably in Kafka")},
    },
    "healthz": {"responses": {"200": _json_example({"status": "ok"}, "Alive")}},
    "readyz": {
        "responses": {
            "200": _json_example(
                {"status": "ready", "kafka": True, "postgres": True}, "Kafka and PostgreSQL answer"
            ),
            "503": _json_example(
                {"status": "unavailable", "kafka": False, "postgres": True}, "Not ready"
            ),
        }
    },
}
