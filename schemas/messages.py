"""Commands and events on the wire (CONTRACT §3).

Every message carries the envelope `type`, `schema_version`, `message_id`, `occurred_at`.
Commands are imperative, events past tense. Money crosses the wire as a decimal string.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from schemas import ids

Money = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=2, ge=0),
    PlainSerializer(lambda d: f"{d:.2f}", return_type=str, when_used="json"),
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    # Unknown fields are ignored, not refused: a rolling deploy whose new writer adds a field
    # must not make an old reader dead-letter its messages. A missing or mistyped field, or
    # an unknown `type`, is still undecodable (schemas.codec).
    model_config = ConfigDict(frozen=True, extra="ignore")

    type: str  # every concrete message narrows it to its own Literal name
    schema_version: Literal[1] = 1
    message_id: UUID
    occurred_at: datetime = Field(default_factory=utcnow)


# --- commands: billing.commands.v1, key = user_id ------------------------------------


def with_command_id(data: Any, kind: str, subject: str) -> Any:
    """A command's message_id is a function of what it is about (`schemas.ids`): whoever
    builds it — the gateway, the admin, the reconciler re-driving it — must use the same id,
    or the processors' inbox would not recognise a repeat. A command with another id is
    refused here, where it is built, rather than found out as a double delivery later."""
    if not isinstance(data, dict) or data.get(subject) is None:
        return data  # the field validators report what is missing
    expected = ids.message_id(kind, UUID(str(data[subject])))
    given = data.get("message_id")
    if given is None:
        return {**data, "message_id": expected}
    if UUID(str(given)) != expected:
        raise ValueError(f"{kind}.message_id must be {expected} for this {subject}")
    return data


class CreatePayment(Envelope):
    type: Literal["CreatePayment"] = "CreatePayment"
    payment_id: UUID
    user_id: UUID
    plan_id: str
    amount: Money
    currency: Currency
    return_url: str
    description: str = ""  # informational; the provider body is built from the payment row

    @model_validator(mode="before")
    @classmethod
    def _deterministic_id(cls, data: Any) -> Any:
        return with_command_id(data, "CreatePayment", "payment_id")


class RefundPayment(Envelope):
    type: Literal["RefundPayment"] = "RefundPayment"
    refund_id: UUID
    payment_id: UUID
    user_id: UUID
    amount: Money
    currency: Currency
    requested_by: str = "api"

    @model_validator(mode="before")
    @classmethod
    def _deterministic_id(cls, data: Any) -> Any:
        return with_command_id(data, "RefundPayment", "refund_id")


class SubscriptionCommand(Envelope):
    subscription_id: UUID
    user_id: UUID


class RenewSubscription(SubscriptionCommand):
    """Charge the saved card for `period_number` (attempt 0, then dunning retries 1, 2, …)."""

    type: Literal["RenewSubscription"] = "RenewSubscription"
    period_number: int = Field(ge=1)
    attempt: int = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _deterministic_id(cls, data: Any) -> Any:
        return with_qualified_id(data, "RenewSubscription", "period_number", "attempt")


class ExpireSubscription(SubscriptionCommand):
    """End the subscription if its access has run out by now (a no-op otherwise)."""

    type: Literal["ExpireSubscription"] = "ExpireSubscription"
    due_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _deterministic_id(cls, data: Any) -> Any:
        return with_qualified_id(data, "ExpireSubscription", "due_at")


class RemindRenewal(SubscriptionCommand):
    """Tell the user the saved card will be charged for `period_number` soon."""

    type: Literal["RemindRenewal"] = "RemindRenewal"
    period_number: int = Field(ge=1)

    @model_validator(mode="before")
    @classmethod
    def _deterministic_id(cls, data: Any) -> Any:
        return with_qualified_id(data, "RemindRenewal", "period_number")


class ChangeSubscription(SubscriptionCommand):
    """An operator's or user's change: cancel, resume, forget the card, extend by days."""

    type: Literal["ChangeSubscription"] = "ChangeSubscription"
    action: Literal["cancel", "resume", "forget_card", "extend"]
    days: int = Field(default=0, ge=0, le=3650)
    requested_by: str = "api"
    request_id: str = Field(min_length=1, max_length=300)

    @model_validator(mode="before")
    @classmethod
    def _deterministic_id(cls, data: Any) -> Any:
        return with_qualified_id(data, "ChangeSubscription", "request_id")


def with_qualified_id(data: Any, kind: str, *fields: str) -> Any:
    """Like `with_command_id`, for commands about a subscription and a qualifier (a period,
    an attempt, a due time, a request): the same work always has the same message_id."""
    if not isinstance(data, dict) or any(data.get(f) is None for f in ("subscription_id", *fields)):
        return data
    qualifiers = [_qualifier(data[f]) for f in fields]
    expected = ids.message_id(kind, UUID(str(data["subscription_id"])), *qualifiers)
    given = data.get("message_id")
    if given is None:
        return {**data, "message_id": expected}
    if UUID(str(given)) != expected:
        raise ValueError(f"{kind}.message_id must be {expected}")
    return data


def _qualifier(value: Any) -> str:
    if isinstance(value, str) and "T" in value:
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


# --- provider notifications: billing.webhooks.v1, key = provider payment id ----------


class ProviderNotification(Envelope):
    """A webhook as received. Never trusted for money: processors re-read the provider."""

    type: Literal["ProviderNotification"] = "ProviderNotification"
    provider: Literal["yookassa"] = "yookassa"
    event: str
    object_id: str
    payment_external_id: str
    body: dict[str, Any]


# --- events: billing.events.v1, key = user_id ----------------------------------------


class PaymentEvent(Envelope):
    payment_id: UUID
    user_id: UUID
    plan_id: str
    amount: Money
    currency: Currency


class PaymentPending(PaymentEvent):
    type: Literal["PaymentPending"] = "PaymentPending"
    external_id: UUID
    confirmation_url: str


class PaymentSucceeded(PaymentEvent):
    type: Literal["PaymentSucceeded"] = "PaymentSucceeded"
    external_id: UUID


class PaymentCanceled(PaymentEvent):
    type: Literal["PaymentCanceled"] = "PaymentCanceled"
    reason: str = ""


class PaymentFailed(PaymentEvent):
    type: Literal["PaymentFailed"] = "PaymentFailed"
    reason: str = ""


class RefundEvent(Envelope):
    refund_id: UUID
    payment_id: UUID
    user_id: UUID
    amount: Money
    currency: Currency


class RefundSucceeded(RefundEvent):
    type: Literal["RefundSucceeded"] = "RefundSucceeded"
    external_id: UUID
    payment_refunded_amount: Money
    payment_refunded: bool


class RefundFailed(RefundEvent):
    type: Literal["RefundFailed"] = "RefundFailed"
    reason: str = ""


class SubscriptionActivated(Envelope):
    type: Literal["SubscriptionActivated"] = "SubscriptionActivated"
    user_id: UUID
    plan_id: str
    payment_id: UUID
    expires_at: datetime


class SubscriptionRevoked(Envelope):
    type: Literal["SubscriptionRevoked"] = "SubscriptionRevoked"
    user_id: UUID
    payment_id: UUID | None = None
    reason: str = ""


class SubscriptionEvent(Envelope):
    subscription_id: UUID
    user_id: UUID
    plan_id: str


class SubscriptionRenewed(SubscriptionEvent):
    type: Literal["SubscriptionRenewed"] = "SubscriptionRenewed"
    payment_id: UUID
    period_number: int
    period_start: datetime
    period_end: datetime
    amount: Money
    currency: Currency


class SubscriptionPastDue(SubscriptionEvent):
    type: Literal["SubscriptionPastDue"] = "SubscriptionPastDue"
    attempt: int
    reason: str
    next_retry_at: datetime | None
    access_until: datetime


class SubscriptionExpired(SubscriptionEvent):
    type: Literal["SubscriptionExpired"] = "SubscriptionExpired"
    reason: str
    ended_at: datetime


class SubscriptionCanceled(SubscriptionEvent):
    """Renewal switched off (`at_period_end`), or the subscription ended for good."""

    type: Literal["SubscriptionCanceled"] = "SubscriptionCanceled"
    at_period_end: bool
    access_until: datetime
    reason: str = ""


class SubscriptionResumed(SubscriptionEvent):
    type: Literal["SubscriptionResumed"] = "SubscriptionResumed"
    access_until: datetime


class SubscriptionChanged(SubscriptionEvent):
    """Any other change (a comp, a forgotten card, a refund ending a period)."""

    type: Literal["SubscriptionChanged"] = "SubscriptionChanged"
    change: str
    active: bool
    access_until: datetime


class RenewalUpcoming(SubscriptionEvent):
    type: Literal["RenewalUpcoming"] = "RenewalUpcoming"
    period_number: int
    charge_at: datetime
    amount: Money
    currency: Currency


# --- dead letters: billing.dlq.v1, key = the original key ----------------------------


class DeadLetter(Envelope):
    type: Literal["DeadLetter"] = "DeadLetter"
    consumer: str
    original_topic: str
    original_partition: int
    original_offset: int
    original_key: str | None
    original_value: str
    error: str


Command = Annotated[
    CreatePayment
    | RefundPayment
    | RenewSubscription
    | ExpireSubscription
    | RemindRenewal
    | ChangeSubscription,
    Field(discriminator="type"),
]
Event = Annotated[
    PaymentPending
    | PaymentSucceeded
    | PaymentCanceled
    | PaymentFailed
    | RefundSucceeded
    | RefundFailed
    | SubscriptionActivated
    | SubscriptionRevoked
    | SubscriptionRenewed
    | SubscriptionPastDue
    | SubscriptionExpired
    | SubscriptionCanceled
    | SubscriptionResumed
    | SubscriptionChanged
    | RenewalUpcoming,
    Field(discriminator="type"),
]
Message = Annotated[
    CreatePayment
    | RefundPayment
    | ProviderNotification
    | PaymentPending
    | PaymentSucceeded
    | PaymentCanceled
    | PaymentFailed
    | RefundSucceeded
    | RefundFailed
    | SubscriptionActivated
    | SubscriptionRevoked
    | RenewSubscription
    | ExpireSubscription
    | RemindRenewal
    | ChangeSubscription
    | SubscriptionRenewed
    | SubscriptionPastDue
    | SubscriptionExpired
    | SubscriptionCanceled
    | SubscriptionResumed
    | SubscriptionChanged
    | RenewalUpcoming
    | DeadLetter,
    Field(discriminator="type"),
]

ALL_MESSAGES: tuple[type[Envelope], ...] = (
    CreatePayment,
    RefundPayment,
    ProviderNotification,
    PaymentPending,
    PaymentSucceeded,
    PaymentCanceled,
    PaymentFailed,
    RefundSucceeded,
    RefundFailed,
    SubscriptionActivated,
    SubscriptionRevoked,
    RenewSubscription,
    ExpireSubscription,
    RemindRenewal,
    ChangeSubscription,
    SubscriptionRenewed,
    SubscriptionPastDue,
    SubscriptionExpired,
    SubscriptionCanceled,
    SubscriptionResumed,
    SubscriptionChanged,
    RenewalUpcoming,
    DeadLetter,
)
