"""bootstrap and seed_demo are idempotent; the DLQ re-inject action goes back through Kafka."""

import asyncio
import uuid
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from admin_project.billing import demo
from admin_project.billing.models import DeadLetter, Payment, Refund, Subscriber

pytestmark = pytest.mark.django_db


def test_bootstrap_twice_gives_one_superuser_and_both_groups(settings) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        call_command("bootstrap", "--skip-static")
    name = settings.BILLING_SETTINGS.admin_username
    user = User.objects.get(username=name)
    assert user.is_superuser and user.is_staff
    assert user.check_password(settings.BILLING_SETTINGS.admin_password.get_secret_value())
    support, finance = Group.objects.get(name="support"), Group.objects.get(name="finance")
    support_perms = set(support.permissions.values_list("codename", flat=True))
    finance_perms = set(finance.permissions.values_list("codename", flat=True))
    assert "view_payment" in support_perms and "view_deadletter" in support_perms
    assert all(code.startswith("view_") for code in support_perms)
    assert {"refund_payment", "recheck_payment", "view_payment"} <= finance_perms


def test_seed_demo_fills_once_and_marks_its_rows() -> None:
    call_command("seed_demo", "--count", "400")
    counts = (Payment.objects.count(), Refund.objects.count(), Subscriber.objects.count())
    call_command("seed_demo", "--count", "400")
    assert (Payment.objects.count(), Refund.objects.count(), Subscriber.objects.count()) == counts
    demo_rows = Payment.objects.filter(idempotency_key__startswith=demo.DEMO_PREFIX)
    assert demo_rows.count() == 400
    assert set(demo_rows.values_list("status", flat=True)) >= {"succeeded", "canceled", "failed"}
    assert Refund.objects.filter(idempotency_key__startswith=demo.DEMO_PREFIX).exists()
    assert not demo_rows.filter(status="pending", next_check_at__lt=demo.FAR_FUTURE).exists()
    span = demo_rows.order_by("created_at").values_list("created_at", flat=True)
    assert (span.last() - span.first()).days >= 60
    assert DeadLetter.objects.count() >= 5


async def _make_topic() -> str:
    topic = f"test.admin.reinject.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.BILLING_SETTINGS.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return topic


async def _read_all(topic: str, expected: int) -> list[tuple[bytes | None, bytes]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.BILLING_SETTINGS.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    found: list[tuple[bytes | None, bytes]] = []
    try:
        for _ in range(10):
            batch = await consumer.getmany(timeout_ms=1000)
            found += [(r.key, r.value) for rs in batch.values() for r in rs]
            if len(found) >= expected:
                break
        await asyncio.sleep(0.5)
        batch = await consumer.getmany(timeout_ms=500)
        found += [(r.key, r.value) for rs in batch.values() for r in rs]
        return found
    finally:
        await consumer.stop()


@pytest.mark.integration
def test_reinject_sends_the_original_message_once_and_marks_who(
    make_client: Callable[..., Client],
) -> None:
    topic = asyncio.run(_make_topic())
    letter = DeadLetter.objects.create(
        consumer="consumer-notifications",
        origin_topic=topic,
        origin_partition=0,
        origin_offset=7,
        key="user-1",
        payload='{"type": "X"}',
        error="boom",
    )
    client = make_client("superuser")
    url = reverse("admin:billing_deadletter_changelist")
    form = {"action": "reinject_selected", "_selected_action": [letter.id]}
    assert client.post(url, form).status_code == 302
    assert client.post(url, form).status_code == 302  # already re-injected: skipped
    letter.refresh_from_db()
    assert letter.reinjected_at is not None and letter.reinjected_by.startswith("admin:superuser")
    assert asyncio.run(_read_all(topic, 1)) == [(b"user-1", b'{"type": "X"}')]


def test_support_cannot_reinject(make_client: Callable[..., Client]) -> None:
    letter = DeadLetter.objects.create(
        consumer="c", origin_topic="t", origin_partition=0, origin_offset=1, payload="{}", error="e"
    )
    client = make_client("support")
    url = reverse("admin:billing_deadletter_changelist")
    assert "reinject_selected" not in client.get(url).content.decode()
    client.post(url, {"action": "reinject_selected", "_selected_action": [letter.id]})
    letter.refresh_from_db()
    assert letter.reinjected_at is None
