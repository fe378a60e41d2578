"""Request and response bodies on the public API. Money crosses the wire as strings."""

import hashlib
import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

MoneyStr = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]
MAX_URL_LENGTH = 2048


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    return value


HttpUrlStr = Annotated[
    str, Field(min_length=1, max_length=MAX_URL_LENGTH), AfterValidator(_http_url)
]


def fingerprint(body: dict[str, Any]) -> str:
    """sha256 of the canonical JSON: what "the same request" means for an Idempotency-Key."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class CreatePaymentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: Annotated[str, Field(min_length=1, max_length=64)]
    return_url: HttpUrlStr


class PlanOut(BaseModel):
    id: str
    title: str
    amount: MoneyStr
    currency: str
    period_days: int


class PaymentOut(BaseModel):
    payment_id: uuid.UUID
    user_id: uuid.UUID
    plan_id: str
    amount: MoneyStr
    currency: str
    status: str
    confirmation_url: str | None
    refunded_amount: MoneyStr
    refunded: bool
    created_at: datetime
    updated_at: datetime


class PaymentPage(BaseModel):
    items: list[PaymentOut]
    next: str | None = Field(description="opaque cursor for the next page, null on the last")


class RefundOut(BaseModel):
    refund_id: uuid.UUID
    payment_id: uuid.UUID
    status: str
    amount: MoneyStr
    currency: str
    created_at: datetime


class SubscriptionOut(BaseModel):
    user_id: uuid.UUID
    active: bool
    plan_id: str | None
    expires_at: datetime | None


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


REFUND_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "amount": {
            "description": "decimal string (or exact JSON number), > 0, at most 2 decimals; "
            "default: all that is left unrefunded",
            "oneOf": [
                {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$"},
                {"type": "number"},
            ],
        }
    },
}
