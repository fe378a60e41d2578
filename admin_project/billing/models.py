"""The payments_history schema (CONTRACT §6). Django migrations are its one owner.

The seed's columns keep their names and types (payments.user_id uuid, amount decimal,
external_id uuid, external_payment jsonb, refunded boolean, system_id uuid; subscribers
user_id uuid, subscriber_status boolean, date_subscribe date). Everything else is what the
pipeline needs. Defaults live in the database (`db_default`) because the async services
insert with plain SQL; constraints, not code, guard the money.
"""

from decimal import Decimal
from enum import StrEnum

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from domain.payments import AWAITING_PROVIDER, NOT_SENT, PaymentStatus
from domain.refunds import RefundStatus
from domain.subscriptions import SubscriptionStatus

__all__ = ["PaymentStatus", "RefundStatus"]  # the domain's, re-exported for the admin

SCHEMA = "payments_history"


def table(name: str) -> str:
    return f'"{SCHEMA}"."{name}"'


def choices_of(statuses: type[StrEnum]) -> type[models.TextChoices]:
    """Django choices generated from a domain enum (same names, values and order)."""
    return models.TextChoices(
        f"{statuses.__name__}Choices", [(status.name, status.value) for status in statuses]
    )


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


# YooKassa's 54-FZ values (https://yookassa.ru/developers/payment-acceptance/receipts/54fz/).
VAT_CODES = [
    (1, "1: no VAT"),
    (2, "2: 0%"),
    (3, "3: 10%"),
    (4, "4: 20%"),
    (5, "5: 10/110"),
    (6, "6: 20/120"),
    (7, "7: 5%"),
    (8, "8: 7%"),
    (9, "9: 5/105"),
    (10, "10: 7/107"),
    (11, "11: 22%"),
    (12, "12: 22/122"),
]
PAYMENT_MODES = _pairs(
    ["full_prepayment", "partial_prepayment", "advance", "full_payment", "partial_payment"]
)
PAYMENT_SUBJECTS = _pairs(["service", "payment", "intellectual_activity", "commodity", "another"])

PaymentStatusChoices = choices_of(PaymentStatus)
RefundStatusChoices = choices_of(RefundStatus)


class Plan(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    title = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, db_default="RUB", default="RUB")
    period_days = models.PositiveIntegerField(help_text="whole days of the period (0: under a day)")
    # The schedule of CONTRACT §2a, in seconds: period, renew_before, retry (a list), grace.
    period_seconds = models.PositiveIntegerField(db_default=30 * 86400, default=30 * 86400)
    renew_before_seconds = models.PositiveIntegerField(db_default=0, default=0)
    retry_seconds = ArrayField(
        models.PositiveIntegerField(), db_default=[], default=list, blank=True
    )
    grace_seconds = models.PositiveIntegerField(db_default=0, default=0)
    active = models.BooleanField(db_default=True, default=True)
    # The 54-FZ receipt line of this plan (processors/provider/receipts.py): what the fiscal
    # receipt of a payment, renewal or refund of it says. The amount is the payment's.
    receipt_description = models.CharField(
        max_length=128, db_default="", default="", blank=True, help_text="empty: the title"
    )
    receipt_quantity = models.DecimalField(
        max_digits=10, decimal_places=3, db_default=Decimal(1), default=Decimal(1)
    )
    receipt_vat_code = models.PositiveSmallIntegerField(
        choices=VAT_CODES, db_default=1, default=1, verbose_name="receipt VAT code"
    )
    receipt_payment_mode = models.CharField(
        max_length=32, choices=PAYMENT_MODES, db_default="full_payment", default="full_payment"
    )
    receipt_payment_subject = models.CharField(
        max_length=32, choices=PAYMENT_SUBJECTS, db_default="service", default="service"
    )
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = table("plans")
        ordering = ["amount"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="plans_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(period_seconds__gt=0), name="plans_period_seconds_positive"
            ),
            models.CheckConstraint(
                condition=Q(receipt_quantity__gt=0), name="plans_receipt_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(receipt_vat_code__gte=1) & Q(receipt_vat_code__lte=12),
                name="plans_receipt_vat_code_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.amount} {self.currency} / {self.period_seconds} s)"


class PaymentSystem(models.Model):
    id = models.UUIDField(primary_key=True)
    code = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=200)
    active = models.BooleanField(db_default=True, default=True)

    class Meta:
        db_table = table("payment_systems")

    def __str__(self) -> str:
        return self.title


class Payment(models.Model):
    id = models.UUIDField(primary_key=True)
    user_id = models.UUIDField()
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, db_column="plan_id")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=16,
        choices=PaymentStatusChoices.choices,
        db_default=PaymentStatusChoices.ACCEPTED,
    )
    external_id = models.UUIDField(null=True, blank=True, unique=True)
    external_payment = models.JSONField(null=True, blank=True)
    refunded = models.BooleanField(db_default=False, default=False)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, db_default=0, default=0)
    system = models.ForeignKey(
        PaymentSystem, on_delete=models.PROTECT, db_column="system_id", null=True, blank=True
    )
    idempotency_key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    # The gateway's request id of the call that created the row (X-Request-ID).
    request_id = models.CharField(max_length=64, null=True, blank=True)
    return_url = models.TextField()
    confirmation_url = models.TextField(null=True, blank=True)
    failure_reason = models.TextField(null=True, blank=True)
    check_attempts = models.IntegerField(db_default=0, default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)
    # The user's consent to save the card and renew (CONTRACT §2a); renewals carry their
    # subscription and the number of the period they pay for.
    auto_renew = models.BooleanField(db_default=False, default=False)
    subscription_id = models.UUIDField(null=True, blank=True)
    period_number = models.IntegerField(null=True, blank=True)
    payment_method_id = models.CharField(max_length=64, null=True, blank=True)
    # Who the 54-FZ receipt goes to, and the receipt sent with the payment (null: receipts
    # were off); renewals take the email of the subscription's earlier payments.
    customer_email = models.CharField(max_length=254, null=True, blank=True)
    receipt = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = table("payments")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "idempotency_key"], name="payments_user_idempotency_key"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payments_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("amount")),
                name="payments_refunded_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatusChoices.values), name="payments_status_known"
            ),
            models.CheckConstraint(
                condition=Q(refunded=False) | Q(refunded_amount=F("amount")),
                name="payments_refunded_flag_matches",
            ),
        ]
        indexes = [
            models.Index(fields=["user_id", "-created_at"], name="payments_user_created"),
            models.Index(fields=["-created_at"], name="payments_created"),
            models.Index(fields=["status", "-created_at"], name="payments_status_created"),
            models.Index(
                fields=["next_check_at"],
                name="payments_reconcile_due",
                condition=Q(status__in=[str(NOT_SENT), str(AWAITING_PROVIDER)]),
            ),
            # The admin's list filters (plan, provider, refunded) keep the newest-first order.
            models.Index(fields=["-created_at", "-id"], name="payments_created_id"),
            models.Index(fields=["plan", "-created_at"], name="payments_plan_created"),
            models.Index(fields=["system", "-created_at"], name="payments_system_created"),
            # The admin's search by an Idempotency-Key prefix (LIKE 'key%').
            models.Index(
                fields=["idempotency_key"],
                name="payments_idempotency_prefix",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["-created_at"],
                name="payments_refunded_created",
                condition=Q(refunded_amount__gt=0),
            ),
        ]
        permissions = [
            ("refund_payment", "Can refund a payment (sends RefundPayment)"),
            ("recheck_payment", "Can ask the reconciler to re-read a payment"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.amount} {self.currency} {self.status}"


class Refund(models.Model):
    id = models.UUIDField(primary_key=True)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, db_column="payment_id", related_name="refunds"
    )
    user_id = models.UUIDField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=16, choices=RefundStatusChoices.choices, db_default=RefundStatusChoices.ACCEPTED
    )
    external_id = models.UUIDField(null=True, blank=True, unique=True)
    external_refund = models.JSONField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    request_id = models.CharField(max_length=64, null=True, blank=True)
    requested_by = models.CharField(max_length=200, db_default="api", default="api")
    # Whether the refund ends the time its payment bought (always for users; an operator
    # may keep access as goodwill).
    ends_access = models.BooleanField(db_default=True, default=True)
    reserved = models.BooleanField(db_default=False, default=False)
    failure_reason = models.TextField(null=True, blank=True)
    # The 54-FZ receipt sent with the refund: set when its money is reserved.
    receipt = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = table("refunds")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "idempotency_key"], name="refunds_user_idempotency_key"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refunds_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=RefundStatusChoices.values), name="refunds_status_known"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="refunds_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.amount} {self.currency} {self.status}"


class Subscriber(models.Model):
    user_id = models.UUIDField(primary_key=True)
    subscriber_status = models.BooleanField(db_default=False, default=False)
    date_subscribe = models.DateField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, db_column="plan_id", null=True, blank=True
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, db_column="payment_id", null=True, blank=True
    )
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = table("subscribers")
        indexes = [models.Index(fields=["subscriber_status"], name="subscribers_status")]

    def __str__(self) -> str:
        return str(self.user_id)


class Outbox(models.Model):
    """Events written in the same transaction as the state change they announce."""

    id = models.BigAutoField(primary_key=True)
    message_id = models.UUIDField(unique=True)
    topic = models.CharField(max_length=100)
    key = models.CharField(max_length=100)
    type = models.CharField(max_length=50)
    payload = models.JSONField()
    payment_id = models.UUIDField(null=True, blank=True)
    refund_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = table("outbox")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], name="outbox_unpublished", condition=Q(published_at__isnull=True)
            ),
            models.Index(fields=["payment_id"], name="outbox_payment"),
        ]


class Inbox(models.Model):
    """Messages a processor or consumer has fully handled: (consumer, message_id) once."""

    id = models.BigAutoField(primary_key=True)
    consumer = models.CharField(max_length=64)
    message_id = models.UUIDField()
    type = models.CharField(max_length=50)
    topic = models.CharField(max_length=100)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    payment_id = models.UUIDField(null=True, blank=True)
    processed_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = table("inbox")
        constraints = [
            models.UniqueConstraint(fields=["consumer", "message_id"], name="inbox_once"),
        ]
        indexes = [models.Index(fields=["payment_id"], name="inbox_payment")]


class DeadLetter(models.Model):
    id = models.BigAutoField(primary_key=True)
    consumer = models.CharField(max_length=64)
    message_id = models.UUIDField(null=True, blank=True)
    origin_topic = models.CharField(max_length=100)
    origin_partition = models.IntegerField()
    origin_offset = models.BigIntegerField()
    key = models.TextField(null=True, blank=True)
    payload = models.TextField()
    error = models.TextField()
    created_at = models.DateTimeField(db_default=Now())
    reinjected_at = models.DateTimeField(null=True, blank=True)
    reinjected_by = models.CharField(max_length=150, null=True, blank=True)

    class Meta:
        db_table = table("dead_letters")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "origin_topic", "origin_partition", "origin_offset"],
                name="dead_letters_once",
            ),
        ]
        permissions = [("reinject_deadletter", "Can re-inject a dead letter to its topic")]


SubscriptionStatusChoices = choices_of(SubscriptionStatus)


class Subscription(models.Model):
    """One per user (id = schemas.ids.subscription_id(user_id)); the rules: domain/subscriptions."""

    id = models.UUIDField(primary_key=True)
    user_id = models.UUIDField(unique=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, db_column="plan_id")
    status = models.CharField(max_length=16, choices=SubscriptionStatusChoices.choices)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    periods = models.IntegerField(db_default=0, default=0, help_text="number of the last period")
    auto_renew = models.BooleanField(db_default=False, default=False)
    cancel_at_period_end = models.BooleanField(db_default=False, default=False)
    payment_method_id = models.CharField(max_length=64, null=True, blank=True)
    card_last4 = models.CharField(max_length=4, null=True, blank=True)
    card_expiry = models.CharField(max_length=7, null=True, blank=True)
    dunning_attempt = models.IntegerField(db_default=0, default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(null=True, blank=True)
    grace_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = table("subscriptions")
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SubscriptionStatusChoices.values),
                name="subscriptions_status_known",
            ),
            models.CheckConstraint(
                condition=Q(current_period_end__gte=F("current_period_start")),
                name="subscriptions_period_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "current_period_end"], name="subscriptions_status_end"),
        ]
        permissions = [
            ("manage_subscription", "Can cancel, resume or extend a subscription"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.status} until {self.current_period_end:%Y-%m-%d %H:%M}"


class SubscriptionPeriod(models.Model):
    """Every period a subscription ever had, with the payment that paid for it (none: a comp)."""

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, db_column="subscription_id", related_name="history"
    )
    number = models.IntegerField()
    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, db_column="payment_id", null=True, blank=True
    )
    kind = models.CharField(max_length=16, help_text="payment, renewal or comp")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    ended_early_at = models.DateTimeField(null=True, blank=True, help_text="by a refund")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = table("subscription_periods")
        ordering = ["subscription", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "number"], name="subscription_periods_once"
            ),
        ]


class SubscriptionDue(models.Model):
    """Time-driven work: the scheduler turns each due row into one command, exactly once.

    `(subscription, kind, due_at)` is unique, so whoever plans the same work twice plans it
    once; `done_at` is set in the transaction that produced the command.
    """

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, db_column="subscription_id", related_name="due"
    )
    user_id = models.UUIDField()
    kind = models.CharField(max_length=16, help_text="remind, renew or expire")
    due_at = models.DateTimeField()
    period_number = models.IntegerField()
    attempt = models.IntegerField(db_default=0, default=0)
    created_at = models.DateTimeField(db_default=Now())
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = table("subscription_due")
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind", "due_at"], name="subscription_due_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="subscription_due_pending",
                condition=Q(done_at__isnull=True),
            ),
        ]
