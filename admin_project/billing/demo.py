"""Realistic demo data for the dashboard: payments over 90 days, refunds, subscribers,
events for the timeline and a few dead letters.

Every demo row is recognisable (idempotency keys start with `demo-`) and inert for the
pipeline: outbox rows are already published, and the few rows left `pending` are due for a
re-check only in the far future, so the reconciler never asks the provider about them.
"""

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from admin_project.billing.models import (
    DeadLetter,
    Inbox,
    Outbox,
    Payment,
    PaymentStatus,
    PaymentSystem,
    Plan,
    Refund,
    RefundStatus,
    Subscriber,
)
from schemas import ids

DEMO_PREFIX = "demo-"
DEMO_USER_NS = uuid.UUID("0d3e7c1a-5b8e-4e0f-9a55-6d3c8f1b2a01")
FAR_FUTURE = datetime(2099, 1, 1, tzinfo=UTC)
P = PaymentStatus
STATUS_WEIGHTS = {P.SUCCEEDED: 82, P.CANCELED: 9, P.FAILED: 5, P.PENDING: 4}


@dataclass
class DemoBatch:
    # Nothing in the demo happens after this moment (refunds and events included).
    now: datetime = field(default_factory=timezone.now)
    payments: list[Payment] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    subscribers: dict[uuid.UUID, Subscriber] = field(default_factory=dict)
    outbox: list[Outbox] = field(default_factory=list)
    inbox: list[Inbox] = field(default_factory=list)


def demo_user(n: int) -> uuid.UUID:
    return uuid.uuid5(DEMO_USER_NS, str(n))


def marker_id() -> uuid.UUID:
    """The first demo payment's id: its presence means the demo is already seeded."""
    return ids.payment_id(demo_user(0), f"{DEMO_PREFIX}0")


def already_seeded() -> bool:
    return Payment.objects.filter(id=marker_id()).exists()


def _moments(rng: random.Random, count: int, now: datetime) -> Iterator[datetime]:
    """Creation times over 90 days, growing towards today, with a daily rhythm."""
    for _ in range(count):
        days_ago = 90 * (1 - rng.random() ** 0.8)
        hour = rng.choices(
            range(24),
            weights=[1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 6, 7, 8, 9, 9, 7, 4, 2],
        )[0]
        day = now - timedelta(days=days_ago)
        at = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        # Today's late hours have not happened yet: move those into the last hour instead.
        yield at if at <= now else now - timedelta(seconds=rng.randrange(60, 3600))


def _external(payment: Payment, status: str) -> dict[str, object]:
    return {
        "id": str(payment.external_id),
        "status": str(status),
        "paid": status == P.SUCCEEDED,
        "amount": {"value": f"{payment.amount:.2f}", "currency": payment.currency},
        "created_at": payment.created_at.isoformat(),
        "metadata": {"payment_id": str(payment.id), "user_id": str(payment.user_id)},
        "payment_method": {"type": "bank_card", "card": {"last4": "4242"}},
        "test": True,
    }


def _event(batch: DemoBatch, payment: Payment, type_: str, at: datetime) -> None:
    message_id = ids.message_id(type_, payment.id)
    batch.outbox.append(
        Outbox(
            message_id=message_id,
            topic="billing.events.v1",
            key=str(payment.user_id),
            type=type_,
            payload={"type": type_, "payment_id": str(payment.id), "demo": True},
            payment_id=payment.id,
            created_at=at,
            published_at=at + timedelta(milliseconds=40),
        )
    )


def _handled(batch: DemoBatch, payment: Payment, type_: str, topic: str, at: datetime) -> None:
    consumer = "processor-commands" if topic.endswith("commands.v1") else "processor-webhooks"
    batch.inbox.append(
        Inbox(
            consumer=consumer,
            message_id=ids.message_id(f"demo-{type_}", payment.id),
            type=type_,
            topic=topic,
            partition=payment.user_id.int % 12,
            offset=len(batch.inbox),
            payment_id=payment.id,
            processed_at=at,
        )
    )


def _payment(rng: random.Random, n: int, user_n: int, plan: Plan, at: datetime) -> Payment:
    user_id = demo_user(user_n)
    key = f"{DEMO_PREFIX}{n}"
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    payment = Payment(
        id=ids.payment_id(user_id, key),
        user_id=user_id,
        plan=plan,
        amount=plan.amount,
        currency=plan.currency,
        status=status,
        external_id=uuid.UUID(int=rng.getrandbits(128)),
        system_id=ids.SYSTEM_YOOKASSA,
        idempotency_key=key,
        request_fingerprint="demo",
        return_url="https://cinema.example/return",
        created_at=at,
        updated_at=at + timedelta(seconds=rng.randint(20, 600)),
    )
    if status == P.PENDING:
        payment.next_check_at = FAR_FUTURE
        payment.updated_at = at
    if status in (P.FAILED, P.CANCELED):
        payment.failure_reason = rng.choice(["card_declined", "expired_on_confirmation"])
    payment.confirmation_url = f"https://provider.example/checkout/{payment.external_id}"
    payment.external_payment = _external(payment, status)
    return payment


def _refund(rng: random.Random, batch: DemoBatch, payment: Payment) -> None:
    full = rng.random() < 0.7
    amount = payment.amount if full else (payment.amount * Decimal("0.5")).quantize(Decimal("0.01"))
    key = f"{DEMO_PREFIX}refund-{payment.id}"
    at = payment.updated_at + timedelta(days=rng.randint(0, 5), hours=rng.randint(0, 12))
    at = max(payment.updated_at, min(at, batch.now - timedelta(minutes=1)))
    batch.refunds.append(
        Refund(
            id=ids.refund_id(payment.user_id, key),
            payment=payment,
            user_id=payment.user_id,
            amount=amount,
            currency=payment.currency,
            status=RefundStatus.SUCCEEDED,
            external_id=uuid.UUID(int=rng.getrandbits(128)),
            idempotency_key=key,
            request_fingerprint="demo",
            requested_by=rng.choice(["api", "admin:finance-demo"]),
            created_at=at,
            updated_at=at + timedelta(seconds=3),
        )
    )
    payment.refunded_amount = amount
    payment.refunded = full


def _lifecycle(rng: random.Random, batch: DemoBatch, payment: Payment) -> None:
    at = payment.created_at
    _handled(batch, payment, "CreatePayment", "billing.commands.v1", at + timedelta(seconds=1))
    if payment.status != P.ACCEPTED:
        _event(batch, payment, "PaymentPending", at + timedelta(seconds=1))
    final = {
        P.SUCCEEDED: "PaymentSucceeded",
        P.CANCELED: "PaymentCanceled",
        P.FAILED: "PaymentFailed",
    }.get(payment.status)
    if final:
        _handled(batch, payment, "ProviderNotification", "billing.webhooks.v1", payment.updated_at)
        _event(batch, payment, final, payment.updated_at)
    if payment.status == P.SUCCEEDED:
        if rng.random() < 0.07:
            _refund(rng, batch, payment)
        _subscribe(batch, payment)


def _subscribe(batch: DemoBatch, payment: Payment) -> None:
    expires = payment.updated_at + timedelta(days=payment.plan.period_days)
    active = not payment.refunded and expires > timezone.now()
    batch.subscribers[payment.user_id] = Subscriber(
        user_id=payment.user_id,
        subscriber_status=active,
        date_subscribe=payment.updated_at.date(),
        expires_at=expires,
        plan=payment.plan,
        payment=payment,
        updated_at=payment.updated_at,
    )


def build(count: int, seed: int = 20250101) -> DemoBatch:
    rng = random.Random(seed)
    plans = list(Plan.objects.filter(active=True).order_by("amount"))
    weights = [5 if plan.period_days <= 31 else 1 for plan in plans]
    batch = DemoBatch(now=timezone.now())
    # 15 minutes back: a payment's updated_at is at most 10 minutes after its creation.
    moments = sorted(_moments(rng, count, batch.now - timedelta(minutes=15)))
    for n, at in enumerate(moments):
        plan = rng.choices(plans, weights=weights)[0]
        payment = _payment(rng, n, 0 if n == 0 else rng.randrange(1, count // 2 + 2), plan, at)
        batch.payments.append(payment)
        _lifecycle(rng, batch, payment)
    return batch


def dead_letters(rng: random.Random) -> list[DeadLetter]:
    errors = [
        "notify: 503 Service Unavailable after 8 attempts",
        "auth: timeout after 8 attempts (POST /api/v1/users/.../roles)",
        "UndecodableMessage: 1 validation error for Message",
    ]
    return [
        DeadLetter(
            consumer=rng.choice(["consumer-notifications", "consumer-subscriptions"]),
            message_id=uuid.UUID(int=rng.getrandbits(128)),
            origin_topic="billing.events.v1",
            origin_partition=i % 12,
            origin_offset=10_000_000 + i,
            key=str(demo_user(i)),
            payload='{"type": "Demo", "demo": true}',
            error=errors[i % len(errors)],
        )
        for i in range(5)
    ]


@transaction.atomic
def seed(count: int) -> DemoBatch:
    PaymentSystem.objects.get_or_create(
        id=ids.SYSTEM_YOOKASSA, defaults={"code": "yookassa", "title": "YooKassa"}
    )
    batch = build(count)
    Payment.objects.bulk_create(batch.payments, batch_size=2000)
    Refund.objects.bulk_create(batch.refunds, batch_size=2000)
    Subscriber.objects.bulk_create(
        list(batch.subscribers.values()), batch_size=2000, ignore_conflicts=True
    )
    Outbox.objects.bulk_create(batch.outbox, batch_size=2000, ignore_conflicts=True)
    Inbox.objects.bulk_create(batch.inbox, batch_size=2000, ignore_conflicts=True)
    DeadLetter.objects.bulk_create(dead_letters(random.Random(7)), ignore_conflicts=True)
    return batch
