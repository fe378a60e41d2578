"""Request and response bodies on the public API. Money crosses the wire as strings."""

import hashlib
import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from gateway import examples

MoneyStr = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]
MAX_URL_LENGTH = 2048
# Stripe's header: this answer replays the request that first used the Idempotency-Key.
REPLAYED_HEADER = "Idempotent-Replayed"


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    return value


# What the Auth sandbox accepts for its `email` claim, and YooKassa's limit on a receipt's.
EmailStr = Annotated[
    str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]

HttpUrlStr = Annotated[
    str, Field(min_length=1, max_length=MAX_URL_LENGTH), AfterValidator(_http_url)
]


def fingerprint(body: dict[str, Any]) -> str:
    """sha256 of the canonical JSON: what "the same request" means for an Idempotency-Key."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _documented(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


def _one_of(values: type[PaymentStatus] | type[RefundStatus]) -> Any:
    """Documents the enum without refusing to answer with a status a newer processor wrote."""
    return Field(json_schema_extra={"enum": [status.value for status in values]})


class CreatePaymentBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.CREATE]})

    plan_id: Annotated[str, Field(min_length=1, max_length=64)]
    return_url: HttpUrlStr
    auto_renew: bool = Field(
        default=False, description="consent to save the card and renew automatically"
    )
    email: EmailStr | None = Field(
        default=None,
        description="where the 54-FZ fiscal receipt goes; default: the token's `email` claim",
    )

    def fingerprint_fields(self) -> dict[str, Any]:
        """What "the same request" means; without auto_renew when it is off and without an
        absent email, as before they existed (old keys keep their fingerprints)."""
        left_out = set() if self.auto_renew else {"auto_renew"}
        if self.email is None:
            left_out.add("email")
        return self.model_dump(mode="json", exclude=left_out or None)


class PlanOut(BaseModel):
    model_config = _documented(examples.PLAN)

    id: str
    title: str
    amount: MoneyStr
    currency: str
    period_days: int
    period_seconds: int


class PaymentOut(BaseModel):
    model_config = _documented(examples.PAYMENT)

    payment_id: uuid.UUID
    user_id: uuid.UUID
    plan_id: str
    amount: MoneyStr
    currency: str
    status: Annotated[str, _one_of(PaymentStatus)]
    confirmation_url: str | None
    refunded_amount: MoneyStr
    refunded: bool
    created_at: datetime
    updated_at: datetime


class PaymentPage(BaseModel):
    model_config = _documented({"items": [examples.PAYMENT], "next": examples.CURSOR})

    items: list[PaymentOut]
    next: str | None = Field(description="opaque cursor for the next page, null on the last")


class RefundOut(BaseModel):
    model_config = _documented(examples.REFUND)

    refund_id: uuid.UUID
    payment_id: uuid.UUID
    status: Annotated[str, _one_of(RefundStatus)]
    amount: MoneyStr
    currency: str
    created_at: datetime


class PaymentMethodOut(BaseModel):
    type: str
    card_last4: str | None
    expiry: str | None


class DunningOut(BaseModel):
    attempt: int
    next_retry_at: datetime | None
    last_error: str | None


class SubscriptionOut(BaseModel):
    """CONTRACT §2a: `active` is true while `status` is `active` or `past_due`."""

    model_config = _documented(examples.SUBSCRIPTION)

    user_id: uuid.UUID
    status: str = Field(description="none, active, past_due, canceled or expired")
    active: bool
    plan_id: str | None
    current_period_start: datetime | None
    current_period_end: datetime | None
    expires_at: datetime | None
    auto_renew: bool
    cancel_at_period_end: bool
    payment_method: PaymentMethodOut | None
    next_charge_at: datetime | None
    next_charge_amount: str | None
    dunning: DunningOut | None


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    model_config = _documented(examples.ERROR)

    error: ErrorDetail


REFUND_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "examples": [examples.REFUND_BODY],
    "additionalProperties": False,
    "description": "The amount is the refund policy's; a body with `amount` gets 422 "
    "amount_not_allowed.",
    "properties": {"reason": {"type": "string", "maxLength": 500}},
}
