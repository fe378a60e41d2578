"""The refund action goes through the pipeline: one accepted row, one RefundPayment in Kafka."""

import asyncio
import re
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from admin_project.billing.models import Payment, Refund
from schemas import COMMANDS, TOPICS, RefundPayment, decode, ids

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


async def _end_offsets() -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.BILLING_SETTINGS.kafka_bootstrap_servers)
    await consumer.start()
    try:
        partitions = [TopicPartition(COMMANDS, p) for p in range(TOPICS[COMMANDS])]
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


async def _read_since(offsets: dict[TopicPartition, int]) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.BILLING_SETTINGS.kafka_bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        for partition, offset in offsets.items():
            consumer.seek(partition, offset)
        end = await consumer.end_offsets(list(offsets))
        values: list[bytes] = []
        while [p for p in offsets if await consumer.position(p) < end[p]]:
            batch = await consumer.getmany(timeout_ms=1000)
            values += [record.value for records in batch.values() for record in records]
        return values
    finally:
        await consumer.stop()


def commands_about(refund_id: uuid.UUID, offsets: dict[TopicPartition, int]) -> list[RefundPayment]:
    messages = [decode(raw) for raw in asyncio.run(_read_since(offsets))]
    return [m for m in messages if isinstance(m, RefundPayment) and m.refund_id == refund_id]


@pytest.fixture
def finance(make_client: Callable[..., Client]) -> Client:
    return make_client("finance")


def refund(  # type: ignore[no-untyped-def]
    client: Client, payment: Payment, amount: str = "", nonce: str | None = None, access="end"
):
    url = reverse("admin:billing_payment_refund", args=[payment.id])
    body = {"amount": amount, "nonce": nonce or uuid.uuid4().hex, "access": access}
    return client.post(url, {k: v for k, v in body.items() if v is not None})


def test_refund_action_emits_exactly_one_command_and_records_who(
    finance: Client, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()
    offsets = asyncio.run(_end_offsets())
    nonce = uuid.uuid4().hex
    response = refund(finance, payment, "", nonce)
    assert response.status_code == 302
    row = Refund.objects.get(payment=payment)
    username = response.wsgi_request.user.username
    assert row.id == ids.refund_id(payment.user_id, f"admin-{nonce}")
    assert (row.status, row.amount, row.requested_by) == (
        "accepted",
        payment.amount,
        f"admin:{username}",
    )
    commands = commands_about(row.id, offsets)
    assert len(commands) == 1
    assert commands[0].message_id == ids.message_id("RefundPayment", row.id)
    assert (
        commands[0].amount == Decimal("499.00") and commands[0].requested_by == f"admin:{username}"
    )
    log = LogEntry.objects.get(object_id=str(payment.id), user__username=username)
    assert "Refund requested" in log.change_message


def test_double_submit_of_one_refund_form_refunds_once(
    finance: Client, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()
    offsets = asyncio.run(_end_offsets())
    nonce = uuid.uuid4().hex
    refund(finance, payment, "100.00", nonce)
    refund(finance, payment, "100.00", nonce)
    rows = list(Refund.objects.filter(payment=payment))
    assert len(rows) == 1 and rows[0].amount == Decimal("100.00")
    assert {c.message_id for c in commands_about(rows[0].id, offsets)} == {
        ids.message_id("RefundPayment", rows[0].id)
    }


def test_partial_refunds_cannot_exceed_what_is_left(
    finance: Client, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment(refunded_amount=Decimal("100.00"))
    assert refund(finance, payment, "300.00").status_code == 302  # 399 left, 300 accepted
    response = refund(finance, payment, "100.00")  # 99 left once the 300 is reserved
    assert response.status_code == 200
    assert "only 99.00 RUB is left" in response.content.decode()
    assert [r.amount for r in Refund.objects.filter(payment=payment)] == [Decimal("300.00")]


@pytest.mark.parametrize(
    ("access", "ends_access", "label"),
    [("end", True, "end access"), ("keep", False, "keep access (goodwill)")],
)
def test_the_operator_chooses_whether_the_refund_ends_access(
    finance: Client,
    make_payment: Callable[..., Payment],
    access: str,
    ends_access: bool,
    label: str,
) -> None:
    payment = make_payment()
    assert refund(finance, payment, "50.00", access=access).status_code == 302
    row = Refund.objects.get(payment=payment)
    assert (row.amount, row.ends_access) == (Decimal("50.00"), ends_access)
    log = LogEntry.objects.get(object_id=str(payment.id))
    assert f"50.00, {label}" in log.change_message


@pytest.mark.parametrize("access", [None, "maybe"])
def test_a_refund_without_a_valid_access_choice_changes_nothing(
    finance: Client, make_payment: Callable[..., Payment], access: str | None
) -> None:
    payment = make_payment()
    response = refund(finance, payment, "50.00", access=access)
    assert response.status_code == 200 and 'id="refund-access"' in response.content.decode()
    assert not Refund.objects.filter(payment=payment).exists()
    assert not LogEntry.objects.filter(object_id=str(payment.id)).exists()


def test_the_refund_page_offers_both_choices_with_end_access_preselected(
    finance: Client, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment()
    page = finance.get(reverse("admin:billing_payment_refund", args=[payment.id]))
    html = page.content.decode()
    assert 'value="end"' in html and 'value="keep"' in html
    assert re.search(r'<input[^>]*value="end"[^>]*checked', html), "end access is not the default"


@pytest.mark.parametrize("status", ["accepted", "pending", "canceled", "failed"])
def test_only_succeeded_payments_can_be_refunded(
    finance: Client, make_payment: Callable[..., Payment], status: str
) -> None:
    payment = make_payment(status=status)
    response = refund(finance, payment)
    assert response.status_code == 200 and "only succeeded payments" in response.content.decode()
    assert not Refund.objects.filter(payment=payment).exists()


def test_recheck_is_a_post_with_csrf_and_a_get_only_shows_the_form(
    make_client: Callable[..., Client], make_payment: Callable[..., Payment]
) -> None:
    operator = make_client("finance", enforce_csrf=True)
    payment = make_payment(status="pending")
    url = reverse("admin:billing_payment_recheck_detail", args=[payment.id])
    page = operator.get(url)
    assert page.status_code == 200 and 'id="recheck-submit"' in page.content.decode()
    assert operator.post(url).status_code == 403  # no CSRF token: refused
    payment.refresh_from_db()
    assert payment.next_check_at is None
    token = page.cookies["csrftoken"].value
    response = operator.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.next_check_at is not None
    assert LogEntry.objects.filter(
        object_id=str(payment.id), change_message__contains="Re-check"
    ).exists()
