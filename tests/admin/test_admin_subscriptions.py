"""Subscription pages: everyone sees them; finance cancels, resumes and extends through Kafka."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from admin_project.billing.models import Payment, Plan, Subscription, SubscriptionPeriod
from schemas import COMMANDS, TOPICS, decode, ids
from schemas.messages import ChangeSubscription

pytestmark = pytest.mark.django_db


def subscription() -> Subscription:
    user = uuid.uuid4()
    now = timezone.now()
    return Subscription.objects.create(
        id=ids.subscription_id(user),
        user_id=user,
        plan=Plan.objects.get(id="monthly"),
        status="active",
        current_period_start=now,
        current_period_end=now + timedelta(days=30),
        periods=1,
        auto_renew=True,
        payment_method_id="pm-1",
        card_last4="4242",
        card_expiry="12/2030",
    )


async def _ends() -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.BILLING_SETTINGS.kafka_bootstrap_servers)
    await consumer.start()
    try:
        parts = [TopicPartition(COMMANDS, p) for p in range(TOPICS[COMMANDS])]
        return dict(await consumer.end_offsets(parts))
    finally:
        await consumer.stop()


async def _since(ends: dict[TopicPartition, int], user: uuid.UUID) -> list[ChangeSubscription]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.BILLING_SETTINGS.kafka_bootstrap_servers,
        isolation_level="read_committed",
    )
    await consumer.start()
    found: list[ChangeSubscription] = []
    try:
        consumer.assign(list(ends))
        for tp, offset in ends.items():
            consumer.seek(tp, offset)
        for _ in range(6):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    if r.key == str(user).encode():
                        message = decode(r.value)
                        if isinstance(message, ChangeSubscription):
                            found.append(message)
        return found
    finally:
        await consumer.stop()


def test_support_sees_the_subscription_and_cannot_change_it(
    make_client: Callable[..., Client],
) -> None:
    sub = subscription()
    client = make_client("support")
    page = client.get(reverse("admin:billing_subscription_changelist")).content.decode()
    assert str(sub.user_id) in page and "4242" in page
    assert "extend_selected" not in page
    detail = client.get(reverse("admin:billing_subscription_change", args=[sub.id]))
    assert detail.status_code == 200


def test_each_paid_period_links_to_its_payments_refund_with_the_access_choice(
    make_client: Callable[..., Client], make_payment: Callable[..., Payment]
) -> None:
    sub = subscription()
    payment = make_payment(user_id=sub.user_id)
    SubscriptionPeriod.objects.create(
        subscription=sub,
        number=1,
        payment=payment,
        kind="payment",
        starts_at=sub.current_period_start,
        ends_at=sub.current_period_end,
    )
    client = make_client("finance")
    detail = client.get(reverse("admin:billing_subscription_change", args=[sub.id]))
    refund_url = reverse("admin:billing_payment_refund", args=[payment.id])
    assert refund_url in detail.content.decode()
    form = client.get(refund_url).content.decode()
    assert 'value="end"' in form and 'value="keep"' in form


@pytest.mark.integration
def test_finance_extends_through_the_pipeline_and_the_audit_log(
    make_client: Callable[..., Client],
) -> None:
    sub = subscription()
    ends = asyncio.run(_ends())
    client = make_client("finance")
    url = reverse("admin:billing_subscription_changelist")
    form = {"action": "extend_selected", "_selected_action": [sub.id], "days": "3"}
    assert client.post(url, form).status_code == 302
    [command] = asyncio.run(_since(ends, sub.user_id))
    assert (command.action, command.days, command.subscription_id) == ("extend", 3, sub.id)
    assert command.requested_by.startswith("admin:finance")
    entry = LogEntry.objects.get(object_id=str(sub.id))
    assert "extend by 3 days" in entry.change_message


def test_tiles_count_mrr_past_due_and_renewal_success() -> None:
    from admin_project.billing.subscription_kpis import mrr, subscription_tiles

    sub = subscription()
    late = subscription()
    Subscription.objects.filter(id=late.id).update(status="past_due")
    assert mrr() == Decimal("998.00")  # two renewing monthly subscriptions
    tiles = {title: value for title, value, _, _ in subscription_tiles(timezone.now())}
    assert tiles["Past due"] == "1" and tiles["Renewal success"] == "—"
    Subscription.objects.filter(id=sub.id).update(cancel_at_period_end=True)
    assert mrr() == Decimal("499.00")
